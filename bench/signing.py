"""Signatures per second through the Signer interface (issue 4): software ES256, RS256 (RSA 3072)
and EdDSA (Ed25519), and ES256 inside SoftHSM2 over PKCS#11.

    .venv/bin/python bench/signing.py --seconds 3 [--write-results]

Single thread, one signing input the size of a typical ID token's header.payload (about 600
bytes). The SoftHSM2 token is created in a temporary directory and removed afterwards. Bounded:
each case runs for ``--seconds`` (at most 30). ``--write-results`` rewrites bench/RESULTS-signing.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from keys import software  # noqa: E402
from keys.signer import Signer  # noqa: E402

SOFTHSM_MODULE = Path(os.environ.get("IDP_BENCH_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so"))
SIGNING_INPUT = b"eyJhbGciOiJFUzI1NiIsImtpZCI6IngiLCJ0eXAiOiJKV1QifQ." + b"A" * 560


def rate(sign: Callable[[bytes], bytes], seconds: float) -> tuple[float, int]:
    """Signatures per second over ``seconds`` (after a short warm-up), and how many were made."""
    for _ in range(5):
        sign(SIGNING_INPUT)
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        sign(SIGNING_INPUT)
        count += 1
    return count / (time.perf_counter() - started), count


def softhsm_signer(workdir: Path, alg: str) -> Signer:
    """A key made inside a fresh SoftHSM2 token under ``workdir``."""
    util = shutil.which("softhsm2-util")
    if util is None or not SOFTHSM_MODULE.is_file():
        raise SystemExit("SoftHSM2 missing: apt-get install softhsm2")
    (workdir / "tokens").mkdir()
    conf = workdir / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {workdir / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [util, "--init-token", "--free", "--label", "bench", "--pin", "123456", "--so-pin", "12345678"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    from keys.hsm import Pkcs11KeyBackend

    signer, _record = Pkcs11KeyBackend(SOFTHSM_MODULE, "bench", "123456").generate(alg)
    return signer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each case (max 30)")
    parser.add_argument("--write-results", action="store_true", help="rewrite bench/RESULTS-signing.md")
    args = parser.parse_args()
    seconds = min(max(args.seconds, 0.2), 30.0)
    rows: list[tuple[str, float, int]] = []
    for label, alg in (
        ("software ES256 (P-256)", "ES256"),
        ("software RS256 (RSA 3072)", "RS256"),
        ("software PS256 (RSA 3072)", "PS256"),
        ("software EdDSA (Ed25519)", "EdDSA"),
    ):
        per_second, count = rate(software.generate(alg).sign, seconds)
        rows.append((label, per_second, count))
        print(f"{label:32} {per_second:10.0f} signatures/s  ({count} in {seconds:g} s)", flush=True)
    with tempfile.TemporaryDirectory(prefix="softhsm-bench-") as workdir:
        for label, alg in (("SoftHSM2 ES256 (P-256)", "ES256"), ("SoftHSM2 RS256 (RSA 3072)", "RS256")):
            if alg == "ES256":
                signer = softhsm_signer(Path(workdir), alg)
            else:
                from keys.hsm import Pkcs11KeyBackend

                signer = Pkcs11KeyBackend(SOFTHSM_MODULE, "bench", "123456").generate(alg)[0]
            per_second, count = rate(signer.sign, seconds)
            rows.append((label, per_second, count))
            print(f"{label:32} {per_second:10.0f} signatures/s  ({count} in {seconds:g} s)", flush=True)
    if args.write_results:
        write_results(rows, seconds)
    return 0


def write_results(rows: list[tuple[str, float, int]], seconds: float) -> None:
    import cryptography

    lines = [
        "# Signing throughput (bench/signing.py)",
        "",
        f"Command: `.venv/bin/python bench/signing.py --seconds {seconds:g} --write-results`",
        "",
        f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} CPUs "
        f"(shared with other work; load average {os.getloadavg()[0]:.1f}), "
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        "SoftHSM 2.6 (Debian). One thread, one ~600-byte signing input, Signer.sign() only.",
        "",
        "| key | signatures/s | signatures made |",
        "|---|---:|---:|",
        *[f"| {label} | {per_second:,.0f} | {count:,} |" for label, per_second, count in rows],
        "",
        "Reading: ES256 and EdDSA signing is far cheaper than serving the HTTP request around it; RSA 3072",
        "(RS256/PS256) costs tens of times more per token. SoftHSM2 is a software token: a hardware",
        "HSM's numbers depend on the device and its network path, so measure the deployment's HSM with",
        "the same command (IDP_BENCH_PKCS11_MODULE points at its module).",
        "",
    ]
    (REPO / "bench" / "RESULTS-signing.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
