"""Running the real ``idp`` command and server in subprocesses, as an operator would, and the
command in this process (:func:`call_idp`) where a test is about what it does, not the process."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

IDP = [sys.executable, "-m", "idp.cli"]


def run_idp(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")} | env
    return subprocess.run([*IDP, *args], env=full_env, input=stdin, capture_output=True, text=True, timeout=120)


def call_idp(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """What :func:`run_idp` does, in this process: :func:`idp.cli.main` with ``args``, the ``IDP_*``
    environment being exactly ``env`` and ``stdin`` on standard input; its exit code (argparse's
    usage error included), stdout and stderr come back as from :func:`run_idp`. Spares the second
    or two a new interpreter spends importing the application. The environment and the password
    hashing cost the command sets are restored afterwards."""
    from idp.accounts import passwords
    from idp.cli import main

    touched = {name for name in os.environ if name.startswith("IDP_")} | set(env)
    saved_env = {name: os.environ[name] for name in touched if name in os.environ}
    saved_hasher = passwords.HASHER
    out, err = io.StringIO(), io.StringIO()
    for name in touched:  # only these: other threads of the test (a load, a server) keep reading the rest
        os.environ.pop(name, None)
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                _stdin(io.StringIO(stdin or "")):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse: --help, usage errors
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    finally:
        for name in touched:
            os.environ.pop(name, None)
        os.environ.update(saved_env)
        passwords.configure_hashing(saved_hasher.memory_cost, saved_hasher.time_cost)
    return subprocess.CompletedProcess(["idp", *args], code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _stdin(stream: io.StringIO) -> Iterator[None]:
    saved, sys.stdin = sys.stdin, stream
    try:
        yield
    finally:
        sys.stdin = saved


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(env: dict[str, str], *, extra_args: list[str] | None = None,
                   cwd: Path | None = None, output: Path | None = None,
                   host_name: str = "127.0.0.1") -> Iterator[str]:
    """Start ``idp serve`` on a free loopback port; yield its base URL; stop it afterwards.
    ``output``: a file that receives the server's stdout and stderr (its log lines). ``host_name``:
    the host of the issuer and of the base URL (``localhost`` for WebAuthn, whose relying party id
    cannot be an IP address); the server listens on 127.0.0.1 either way."""
    port = free_port()
    base = f"http://{host_name}:{port}"
    local = f"http://127.0.0.1:{port}"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    full_env |= {"IDP_ISSUER": base} | env
    log = output.open("w+") if output else tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [*IDP, "serve", "--host", "127.0.0.1", "--port", str(port), *(extra_args or [])],
        env=full_env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                output = log.read()
                raise RuntimeError(f"idp serve exited with {process.returncode}: {output[-2000:]}")
            try:
                if httpx.get(local + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("idp serve did not become healthy in 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
