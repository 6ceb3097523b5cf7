"""``idp policies check|explain``: validate policy documents; show what a client's sign-in requires."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from idp.cli.common import print_json
from idp.settings import load_settings
from policies.document import PolicyError, load_policy_file
from policies.explain import explain, format_explanation
from policies.policy_set import PolicySet, policy_files


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policies = subparsers.add_parser("policies", help="per-client policies and levels of assurance")
    sub = policies.add_subparsers(dest="policies_command", metavar="ACTION", required=True)

    check = sub.add_parser("check", help="validate every policy document in a folder")
    check.add_argument("folder", type=Path)
    check.add_argument("--adapter", action="append", dest="adapters", metavar="ID",
                       help="a configured adapter id; when given, policies naming others are refused")
    check.set_defaults(handler=_check)

    show = sub.add_parser("explain", help="what a sign-in for a client will require and receive")
    show.add_argument("client_id")
    show.add_argument("--dir", type=Path, dest="folder",
                      help="policy folder (default: IDP_POLICIES_DIR, else the built-in policy)")
    show.add_argument("--scope", help="the request's scope (default: every standard and restricted scope)")
    show.add_argument("--claim", action="append", default=[], dest="claims", metavar="NAME",
                      help="a claim asked for through the claims parameter")
    show.add_argument("--acr-values", default="", help="the request's acr_values")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_explain)


def _check(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    if not folder.is_dir():
        raise PolicyError(str(folder), None, None, "not a folder")
    known = frozenset(args.adapters) if args.adapters else None
    failures = 0
    files = policy_files(folder)
    for path in files:
        try:
            load_policy_file(path, known_adapters=known)
        except PolicyError as exc:
            failures += 1
            print(f"idp: {exc}", file=sys.stderr)
    if failures:
        return 1
    names = ", ".join(p.name for p in files) or "none"
    default = "" if (folder / "default.yaml").is_file() else " (no default.yaml: other clients are refused)"
    print(f"{len(files)} valid policy document(s) in {folder}: {names}{default}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    settings = load_settings()
    policies = PolicySet.from_folder_or_builtin(args.folder or settings.policies_dir)
    scopes = args.scope.split() if args.scope is not None else None
    body = explain(policies, args.client_id, settings.issuer, scopes=scopes,
                   requested_claims=args.claims, acr_values=args.acr_values.split())
    if args.json:
        print_json(body)
    else:
        print(format_explanation(body))
    return 0
