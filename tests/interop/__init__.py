"""Interop against implementations nobody here wrote (node openid-client, node oidc-provider)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import backend_unavailable


def node_with_packages(folder: Path, package: str, what: str) -> str:
    """The ``node`` binary, with ``folder``'s packages installed from its package-lock.json (``npm
    ci`` unless ``package`` is there already). ``what`` names the peer when node or npm is missing:
    a failure under CI, a skip elsewhere."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        backend_unavailable(what, "node and npm are not installed")
    assert node is not None and npm is not None
    if not (folder / "node_modules" / package).is_dir():
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=folder, capture_output=True, timeout=300)
        if done.returncode != 0:
            backend_unavailable(what, "npm ci failed: " + done.stderr.decode()[-300:])
    return node
