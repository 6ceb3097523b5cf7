"""``idp trust check|list``: validate the certificate trust file; show what each purpose trusts."""

from __future__ import annotations

import argparse
from pathlib import Path

from idp.cli.common import print_json
from idp.errors import IdpError
from idp.pki.trust import Trust, fingerprint, read_trust_file
from idp.settings import load_settings


class NoTrustFile(IdpError):
    """Neither a file argument nor IDP_TRUST_FILE names a trust file."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    trust = subparsers.add_parser("trust", help="certificates trusted for sign-in and signed documents")
    sub = trust.add_subparsers(dest="trust_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a trust file and the certificates it names")
    check.add_argument("file", type=Path, nargs="?", help="trust file (default: IDP_TRUST_FILE)")
    check.set_defaults(handler=_check)
    listing = sub.add_parser("list", help="every trusted root and intermediate, per purpose")
    listing.add_argument("file", type=Path, nargs="?", help="trust file (default: IDP_TRUST_FILE)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)


def _read(file: Path | None) -> Trust:
    path = file or load_settings().trust_file
    if path is None:
        raise NoTrustFile("no trust file: give one or set IDP_TRUST_FILE")
    return read_trust_file(path)


def _check(args: argparse.Namespace) -> int:
    trust = _read(args.file)
    parts = [f"{name}: {len(p.roots)} root(s), {len(p.intermediates)} intermediate(s), revocation {p.revocation.mode}"
             for name, p in trust.purposes.items()]
    print(f"{trust.source} is valid; " + ("; ".join(parts) if parts else "no purpose: no certificate is trusted"))
    return 0


def _list(args: argparse.Namespace) -> int:
    trust = _read(args.file)
    rows = [{"purpose": name, "role": role, "subject": cert.subject.rfc4514_string(),
             "not_after": cert.not_valid_after_utc.date().isoformat(), "sha256": fingerprint(cert)}
            for name, purpose in trust.purposes.items()
            for role, certs in (("root", purpose.roots), ("intermediate", purpose.intermediates))
            for cert in certs]
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        print(f"{row['purpose']:<10} {row['role']:<12} {row['not_after']}  {row['subject']}\n"
              f"{'':<24}{row['sha256']}")
    return 0
