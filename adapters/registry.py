"""Adapter type name -> versioned configuration model -> ``open()``.

The adapters file (``IDP_ADAPTERS_FILE``) is YAML::

    adapters:
      - id: staff                 # stable id; client policies allow adapters by id
        type: ldap                # a built-in type or one from the ``idp.adapters`` entry points
        version: 1                # the type's configuration format version
        display_name: {vi: Cán bộ tỉnh, en: Provincial staff}
        ...                       # the type's own fields

It is validated as a whole at start-up: the first problem stops start-up with one
:class:`AdapterConfigError` naming the file, the line, the adapter and the field. Third-party
packages add types through the entry-point group ``idp.adapters``: the entry-point name is the
type name, its object an :class:`AdapterConfig` subclass (or a list of them, one per version).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from adapters.adapter_set import AdapterEntry, AdapterSet
from adapters.config import AdapterConfig, AdapterContext
from idp.errors import IdpError
from idp.settings import Settings

ENTRY_POINT_GROUP = "idp.adapters"

BUILTIN_TYPES: dict[str, str] = {
    "local": "adapters.local.config:LocalConfig",
    "ldap": "adapters.ldap.config:LdapConfig",
    "testing": "adapters.testing.config:TestingConfig",
    "oidc": "adapters.oidc.config:OidcConfig",
    "vneid": "adapters.vneid.config:VneidConfig",
    "dvcqg": "adapters.dvcqg.config:DvcqgConfig",
    "cccd-chip": "adapters.cccd.config:CccdChipConfig",
    "certificate": "adapters.certificate.config:CertificateConfig",
    "testing-face": "adapters.testing.face:TestingFaceConfig",
    "registry-check": "adapters.registry_check.config:RegistryCheckConfig",
}


class AdapterConfigError(IdpError):
    """The adapters configuration is invalid; the message names file, line, adapter and field."""


def _load_object(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _as_models(type_name: str, obj: Any) -> dict[int, type[AdapterConfig]]:
    items = obj if isinstance(obj, list | tuple) else [obj]
    models: dict[int, type[AdapterConfig]] = {}
    for item in items:
        if not (isinstance(item, type) and issubclass(item, AdapterConfig)):
            raise AdapterConfigError(f"adapter type {type_name!r} does not provide an AdapterConfig model")
        models[item.config_version] = item
    return models


def adapter_types() -> dict[str, str]:
    """Every known type name -> where its models come from (built-ins win over entry points)."""
    types = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    types.update(BUILTIN_TYPES)
    return types


def config_models(type_name: str) -> dict[int, type[AdapterConfig]]:
    """The configuration models of a type, by version; raise AdapterConfigError when unknown."""
    if type_name in BUILTIN_TYPES:
        try:
            obj = _load_object(BUILTIN_TYPES[type_name])
        except (ImportError, AttributeError) as exc:
            raise AdapterConfigError(f"adapter type {type_name!r} failed to load: {exc}") from None
        return _as_models(type_name, obj)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == type_name:
            try:
                obj = ep.load()
            except Exception as exc:  # a broken third-party package must not crash with a trace
                raise AdapterConfigError(f"adapter type {type_name!r} failed to load: {exc}") from None
            return _as_models(type_name, obj)
    known = ", ".join(sorted(adapter_types()))
    raise AdapterConfigError(f"unknown adapter type {type_name!r} (known: {known})")


def _node_at(node: yaml.Node | None, path: Sequence[Any]) -> yaml.Node | None:
    """The deepest YAML node along a validation error's location (for its line number)."""
    for step in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(step)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            child = node.value[step]
        if child is None:
            return node
        node = child
    return node


def _line(node: yaml.Node | None) -> str:
    return f"line {node.start_mark.line + 1}" if node is not None else "line ?"


def parse_adapter_configs(text: str, source: str) -> list[AdapterConfig]:
    """Validate the text of an adapters file; raise AdapterConfigError on the first problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise AdapterConfigError(f"invalid adapters file {source}:{where} not valid YAML") from None
    if data is None:
        return []
    entries_node: yaml.Node | None = root
    if isinstance(data, dict):
        unknown = set(data) - {"adapters", "version"}
        if unknown:
            raise AdapterConfigError(f"invalid adapters file {source}: unknown top-level key {sorted(unknown)[0]!r}")
        if data.get("version", 1) != 1:
            raise AdapterConfigError(f"invalid adapters file {source}: unsupported file version {data['version']!r}")
        data = data.get("adapters") or []
        entries_node = _node_at(root, ["adapters"])
    if not isinstance(data, list):
        raise AdapterConfigError(f"invalid adapters file {source}: expected a list of adapters")
    configs: list[AdapterConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        node = _node_at(entries_node, [index])
        config = _parse_one(item, node, source, index)
        if config.id in seen:
            raise AdapterConfigError(
                f"invalid adapters file {source} ({_line(node)}): adapter {config.id!r}: id is used twice"
            )
        seen.add(config.id)
        configs.append(config)
    return configs


def _parse_one(item: Any, node: yaml.Node | None, source: str, index: int) -> AdapterConfig:
    label = f"adapter #{index + 1}"
    if not isinstance(item, dict):
        raise AdapterConfigError(f"invalid adapters file {source} ({_line(node)}): {label}: expected a mapping")
    if isinstance(item.get("id"), str):
        label = f"adapter {item['id']!r}"
    type_name = item.get("type")
    if not isinstance(type_name, str):
        raise AdapterConfigError(f"invalid adapters file {source} ({_line(node)}): {label}: field 'type' is required")
    try:
        models = config_models(type_name)
    except AdapterConfigError as exc:
        raise AdapterConfigError(f"invalid adapters file {source} ({_line(node)}): {label}: {exc}") from None
    version = item.get("version", 1)
    model = models.get(version) if isinstance(version, int) else None
    if model is None:
        supported = ", ".join(str(v) for v in sorted(models))
        raise AdapterConfigError(
            f"invalid adapters file {source} ({_line(_node_at(node, ['version']))}): {label}: "
            f"field 'version': type {type_name!r} has no configuration version {version!r} (supported: {supported})"
        )
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [step for step in error["loc"] if not (isinstance(step, str) and step.startswith("function-"))]
        field = ".".join(str(step) for step in loc) or "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        where = _line(_node_at(node, loc))
        raise AdapterConfigError(
            f"invalid adapters file {source} ({where}): {label}: field {field!r}: {message}"
        ) from None


def read_adapters_file(path: Path) -> list[AdapterConfig]:
    """Read and validate an adapters file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AdapterConfigError(f"cannot read adapters file {path}: {exc.strerror or exc}") from None
    return parse_adapter_configs(text, str(path))


def default_configs() -> list[AdapterConfig]:
    """Without an adapters file: one password source, the local accounts."""
    from adapters.local.config import LocalConfig

    return [LocalConfig(id="local", type="local", display_name={"vi": "Tài khoản nội bộ", "en": "Local account"})]


def load_adapter_configs(settings: Settings) -> list[AdapterConfig]:
    """The configured adapters (validated), or the default when no file is set."""
    if settings.adapters_file is None:
        return default_configs()
    return read_adapters_file(settings.adapters_file)


def open_adapters(configs: Sequence[AdapterConfig], context: AdapterContext) -> AdapterSet:
    """Open every configured adapter, in order; a failure names the adapter."""
    entries: list[AdapterEntry] = []
    try:
        for config in configs:
            try:
                adapter = config.open(context)
            except AdapterConfigError:
                raise
            except (ValueError, OSError) as exc:
                raise AdapterConfigError(f"adapter {config.id!r} cannot be opened: {exc}") from None
            entries.append(AdapterEntry(config.id, config.type, config.capabilities, adapter, config.produces()))
    except Exception:
        AdapterSet(entries).close()
        raise
    return AdapterSet(entries)


def load_adapters(settings: Settings, *, storage: Any = None, ephemeral: Any = None) -> AdapterSet:
    """Read, validate and open the configured adapters (call once at start-up, from Runtime.open).

    ``storage`` (the SqlStorage) is needed by the ``local`` adapter; ``ephemeral`` by adapters
    that keep short-lived state."""
    configs = load_adapter_configs(settings)
    return open_adapters(configs, AdapterContext(settings=settings, storage=storage, ephemeral=ephemeral))
