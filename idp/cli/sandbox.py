"""``idp sandbox serve`` (the national simulators on loopback) and ``idp sandbox citizens``."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

from idp.sandbox.citizens import CITIZENS
from idp.sandbox.modes import MODES
from idp.sandbox.server import DEMO_CLIENT, NationalSandbox, serve_forever


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("sandbox", help="simulated VNeID and national portal SSO (loopback only)")
    commands = group.add_subparsers(dest="sandbox_command", metavar="COMMAND", required=True)
    serve = commands.add_parser("serve", help="serve the simulators (VNeID, the portal, remote signing) and print "
                                "their adapters file entries")
    serve.add_argument("--host", default="127.0.0.1", help="a loopback address")
    serve.add_argument("--port", type=int, default=8800)
    serve.add_argument("--client-id", default=DEMO_CLIENT.client_id)
    serve.add_argument("--client-secret", default=DEMO_CLIENT.client_secret)
    serve.add_argument("--redirect-uri", action="append", default=[], help="registered callback (repeatable); "
                       "none: any loopback URI")  # fmt: skip
    serve.add_argument("--mode", choices=sorted(MODES), default="normal", help="hostile mode of both simulators")
    serve.add_argument("--trust-dir", default=None, help="where to write the remote-signing simulator's trust "
                       "file (IDP_TRUST_FILE); default: a new temporary folder")  # fmt: skip
    serve.set_defaults(handler=_serve)
    citizens = commands.add_parser("citizens", help="list the synthetic citizens")
    citizens.set_defaults(handler=_citizens)


def _serve(args: argparse.Namespace) -> int:
    from idp.sandbox.provider import SandboxClient
    from idp.sandbox.remote_pki import SandboxSigningPki

    client = SandboxClient(args.client_id, args.client_secret, tuple(args.redirect_uri))
    signing = SandboxSigningPki.make()  # the remote-signing simulator's citizens, keys in memory
    trust_file = signing.write_trust_file(Path(args.trust_dir or tempfile.mkdtemp(prefix="idp-sandbox-trust-")))

    def announce(sandbox: NationalSandbox) -> None:
        sandbox.vneid.set_mode(args.mode)
        sandbox.dvcqg.set_mode(args.mode)
        print(f"# remote signing (the phone app: POST {sandbox.base_url}/remote-signing/phone/<request>/confirm) "
              f"needs IDP_TRUST_FILE={trust_file}")
        print("# adapters file entries for this sandbox (IDP_ADAPTERS_FILE):")
        yaml.safe_dump({"adapters": sandbox.adapter_configs(client)}, sys.stdout, allow_unicode=True, sort_keys=False)
        sys.stdout.flush()

    serve_forever(args.host, args.port, [client], on_ready=announce, remote_signing=signing.service())
    return 0


def _citizens(args: argparse.Namespace) -> int:
    for citizen in CITIZENS:
        print(f"{citizen.personal_id}  {citizen.birthdate.isoformat()}  level {citizen.eid_level}  {citizen.full_name}")
    return 0
