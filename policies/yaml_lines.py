"""A strict YAML reader that remembers where every value was written.

Policy documents are read by people and checked by machines; an error must point at a line.
PyYAML's composer keeps marks on nodes, so the document is composed (never constructed with
arbitrary tags: only the safe resolver's scalars) and turned into plain dicts, lists and scalars
while each path (``("step_up", 0, "acr")``) is mapped to its line. Duplicate keys and
anchors/aliases are refused: in a security document a second ``adapters:`` must not silently win.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from idp.errors import IdpError

MAX_DOCUMENT_BYTES = 256 * 1024

Path = tuple[str | int, ...]


class YamlDocumentError(ValueError, IdpError):
    """The text is not one acceptable YAML mapping; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class LocatedDocument:
    """A YAML mapping as plain data, with the line of every path in it."""

    data: dict[str, Any]
    lines: Mapping[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of ``path`` or of its nearest ancestor that was written."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def load_located(text: str) -> LocatedDocument:
    """Parse one YAML document that must be a mapping."""
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise YamlDocumentError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # a character YAML does not allow (the reader checks them at once)
        raise YamlDocumentError(f"not valid YAML: {exc}".splitlines()[0]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlDocumentError("empty document: a policy is a mapping with at least `version: 1`", 1)
        if not isinstance(node, yaml.MappingNode):
            raise YamlDocumentError("the document must be a mapping of fields", _line(node))
        lines: dict[Path, int] = {(): _line(node)}
        data = _to_python(loader, node, (), lines, set())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlDocumentError(f"not valid YAML: {exc.problem or exc.context}",
                                mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise YamlDocumentError(f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return LocatedDocument(data=data, lines=lines)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _to_python(loader: yaml.SafeLoader, node: yaml.Node, path: Path, lines: dict[Path, int],
               seen: set[int]) -> Any:
    if id(node) in seen:
        raise YamlDocumentError("anchors and aliases are not allowed in policy documents", _line(node))
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlDocumentError("keys must be plain names", _line(key_node))
            key = str(loader.construct_object(key_node))
            if key in out:
                raise YamlDocumentError(f"field {_dotted(path + (key,))} is written twice", _line(key_node))
            lines[path + (key,)] = _line(key_node)
            if id(value_node) in seen:
                raise YamlDocumentError("anchors and aliases are not allowed in policy documents",
                                        _line(key_node))
            out[key] = _to_python(loader, value_node, path + (key,), lines, seen)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            lines[path + (index,)] = _line(item)
            items.append(_to_python(loader, item, path + (index,), lines, seen))
        return items
    return loader.construct_object(node)


def _dotted(path: Path) -> str:
    """``step_up[0].acr`` for ``("step_up", 0, "acr")``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


dotted = _dotted
