"""SoftHSM2 for tests: one temporary token directory per test run, tokens initialised before the
PKCS#11 module is first loaded (SoftHSM reads its slots once per process).

Functional modules import the fixtures from here (``from tests.unit.keys.softhsm import ...``).
Missing SoftHSM2 skips locally and fails under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from idp.settings import Settings
from tests.conftest import backend_unavailable

MODULE = Path(os.environ.get("IDP_TEST_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so"))
TOKEN = "vn-idp-test"
PIN_TEST_TOKEN = "vn-idp-pin-test"
USER_PIN = "246810"
SO_PIN = "13579111"


@dataclass(frozen=True)
class SoftHsm:
    module: Path
    token_label: str
    pin: str
    pin_test_token: str

    def settings(self, data_dir: Path, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": data_dir, "key_backend": "pkcs11", "pkcs11_module": self.module,
            "pkcs11_token_label": self.token_label, "pkcs11_pin": self.pin,
        }
        return Settings(**{**values, **overrides})  # type: ignore[arg-type]


_created: list[SoftHsm] = []


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """Two initialised SoftHSM2 tokens in a temporary directory (SOFTHSM2_CONF set for the run).

    Imported by several test modules: the first use in the process creates the tokens, later ones
    reuse them (the PKCS#11 module reads SOFTHSM2_CONF only once per process)."""
    if _created:
        yield _created[0]
        return
    util = shutil.which("softhsm2-util")
    if util is None or not MODULE.is_file():
        backend_unavailable("SoftHSM2", "softhsm2-util or libsofthsm2.so missing (Debian package softhsm2)")
    assert util is not None
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\nslots.removable = false\n", encoding="utf-8")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in (TOKEN, PIN_TEST_TOKEN):
        subprocess.run([util, "--init-token", "--free", "--label", label, "--pin", USER_PIN, "--so-pin", SO_PIN],
                       check=True, capture_output=True, timeout=30)
    _created.append(SoftHsm(MODULE, TOKEN, USER_PIN, PIN_TEST_TOKEN))
    yield _created[0]
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous
