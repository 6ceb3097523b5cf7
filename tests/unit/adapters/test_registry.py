"""The adapters file: valid files open an ordered set; each kind of mistake stops start-up with
one message naming file, line, adapter and field."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import pytest

from adapters.adapter_set import UnknownAdapter
from adapters.base import Adapter, InvalidCredentials, PasswordAdapter, RedirectAdapter, RequestData
from adapters.config import PASSWORD, AdapterConfig, AdapterContext
from adapters.registry import AdapterConfigError, load_adapters, parse_adapter_configs
from idp.settings import Settings

VALID = """\
adapters:
  - id: test
    type: testing
    display_name: {vi: Nguồn thử, en: Test source}
    users:
      an.nguyen:
        password: "mật-khẩu-thử-nghiệm"
        claims: {family_name: Nguyễn, given_name: An}
        roles: [can-bo]
  - id: local
    type: local
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "adapters.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_opens_adapters_in_order(tmp_path: Path, sqlite_storage: object) -> None:
    settings = Settings(data_dir=tmp_path, adapters_file=write(tmp_path, VALID))
    adapter_set = load_adapters(settings, storage=sqlite_storage)
    assert adapter_set.ids == ("test", "local")
    assert [a.id for a in adapter_set.password_adapters()] == ["test", "local"]
    assert [a.id for a in adapter_set.redirect_adapters()] == ["test"]
    assert adapter_set.get("test").display_name("vi") == "Nguồn thử"
    assert adapter_set.get("test").display_name("en") == "Test source"
    _: PasswordAdapter = adapter_set.password_adapter("test")
    __: RedirectAdapter = adapter_set.redirect_adapter("test")
    with pytest.raises(UnknownAdapter):
        adapter_set.redirect_adapter("local")


def test_for_client_is_deny_by_default(tmp_path: Path, sqlite_storage: object) -> None:
    settings = Settings(data_dir=tmp_path, adapters_file=write(tmp_path, VALID))
    adapter_set = load_adapters(settings, storage=sqlite_storage)
    assert adapter_set.for_client([]).ids == ()
    assert adapter_set.for_client(["local", "gone"]).ids == ("local",)
    assert adapter_set.for_client(["local", "test"]).ids == ("test", "local")  # configuration order


def test_no_file_means_one_local_password_adapter(tmp_path: Path, sqlite_storage: object) -> None:
    adapter_set = load_adapters(Settings(data_dir=tmp_path), storage=sqlite_storage)
    assert adapter_set.ids == ("local",)
    assert adapter_set.get("local").display_name("vi") == "Tài khoản nội bộ"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VALID.replace("type: local", "type: locall"), ["line 10", "'local'", "unknown adapter type 'locall'"]),
        (VALID.replace("    type: testing\n", ""), ["line 2", "'test'", "field 'type' is required"]),
        (
            VALID.replace('password: "mật-khẩu-thử-nghiệm"', "pasword: x"),
            ["line 7", "'test'", "field 'users.an.nguyen.password'"],
        ),
        (VALID + "    colour: blue\n", ["line 12", "'local'", "field 'colour'", "Extra inputs"]),
        (VALID.replace("id: local", "id: test"), ["line 10", "'test'", "id is used twice"]),
        (VALID.replace("id: local", "id: Local Accounts"), ["line 10", "field 'id'"]),
        (VALID + "    version: 7\n", ["line 12", "'local'", "field 'version'", "no configuration version 7"]),
        ("adapters: [\n", ["line 2", "not valid YAML"]),
        ("adaptors: []\n", ["unknown top-level key 'adaptors'"]),
    ],
)
def test_invalid_file_names_file_line_adapter_and_field(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AdapterConfigError) as info:
        load_adapters(Settings(data_dir=tmp_path, adapters_file=path))
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message, message


def test_missing_file_is_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(AdapterConfigError, match="cannot read adapters file"):
        load_adapters(Settings(data_dir=tmp_path, adapters_file=tmp_path / "nope.yaml"))


def test_testing_adapter_refused_with_a_public_issuer(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        issuer="https://idp.example.gov.vn",
        adapters_file=write(tmp_path, VALID.split("  - id: local")[0]),
    )
    with pytest.raises(AdapterConfigError, match="'test' cannot be opened: .*loopback"):
        load_adapters(settings)


class _EchoAdapter:
    def __init__(self, id: str) -> None:
        self.id = id

    def display_name(self, locale: str) -> str:
        return "echo"

    def authenticate(self, username: str, password: str) -> object:
        raise InvalidCredentials()


class EchoConfig(AdapterConfig):
    capabilities: ClassVar[frozenset[str]] = frozenset({PASSWORD})
    type: Literal["echo"]

    def open(self, context: AdapterContext) -> Adapter:
        return _EchoAdapter(self.id)


def test_third_party_type_through_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    import adapters.registry as registry

    point = EntryPoint(name="echo", value=f"{__name__}:EchoConfig", group="idp.adapters")
    monkeypatch.setattr(registry, "entry_points", lambda group: [point] if group == "idp.adapters" else [])
    configs = parse_adapter_configs("- {id: e, type: echo}\n", "inline")
    assert isinstance(configs[0], EchoConfig)
    adapter_set = load_adapters(Settings(data_dir=tmp_path, adapters_file=write(tmp_path, "- {id: e, type: echo}\n")))
    with pytest.raises(InvalidCredentials):
        adapter_set.password_adapter("e").authenticate("a", "b")


def test_testing_adapter_redirect_round_trip(tmp_path: Path) -> None:
    adapter_set = load_adapters(
        Settings(data_dir=tmp_path, adapters_file=write(tmp_path, VALID.split("  - id: local")[0]))
    )
    source = adapter_set.redirect_adapter("test")
    url, pending = source.begin("http://127.0.0.1:8000/callback/test")
    query = dict(pair.split("=", 1) for pair in url.split("?", 1)[1].split("&"))
    identity = source.complete("http://127.0.0.1:8000/callback/test", RequestData(query=query), pending)
    assert identity.subject == "an.nguyen"
    assert identity.claims["family_name"] == "Nguyễn"
    assert identity.roles == ("can-bo",)
