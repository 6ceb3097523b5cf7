"""``idp kek rotate --new-key-file FILE [--generate]``: seal everything again under a new
key-encryption key (:mod:`idp.security.kek_rotation`), with the current one (``IDP_KEY_ENCRYPTION_KEY``
or ``<data_dir>/kek``) to open it. Progress goes to stderr; run it again to finish a rotation cut
short. Afterwards the provider must be configured with the new key (the command says how)."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from idp.runtime import open_storage
from idp.security.kek_rotation import KekRotation
from idp.settings import load_settings
from keys.kek import KEK_BYTES, decode_kek, encode_kek, load_kek


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("kek", help="the key-encryption key")
    sub = group.add_subparsers(dest="kek_command", metavar="ACTION", required=True)
    rotate = sub.add_parser("rotate", help="seal signing keys, second factors and personal ID numbers again "
                            "under a new key-encryption key (stop the servers first; resumable)")
    rotate.add_argument("--new-key-file", type=Path, required=True, metavar="FILE",
                        help="the new key (urlsafe base64 of 32 bytes, mode 0600)")
    rotate.add_argument("--generate", action="store_true",
                        help="write a new random key to FILE first (refuses to overwrite one)")
    rotate.set_defaults(handler=_rotate)


def _rotate(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.pairwise_salt is None:
        raise ValueError("IDP_PAIRWISE_SALT is unset, so every service's pairwise sub is derived from the "
                         "key-encryption key and would change with it: rotation needs IDP_PAIRWISE_SALT set "
                         "(see docs/operations.md)")
    path: Path = args.new_key_file
    if args.generate:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ValueError(f"{path} exists: --generate never overwrites a key (leave it out to use it)") from None
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(encode_kek(secrets.token_bytes(KEK_BYTES)) + "\n")
    try:
        new = decode_kek(path.read_text(encoding="ascii"), source=str(path))
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None
    storage = open_storage(settings)
    try:
        old = load_kek(settings, sealed_keys_exist=True)

        def progress(what: str, done: int, total: int) -> None:
            if done == total or done % 500 == 0:
                print(f"kek rotate: {what} {done}/{total}", file=sys.stderr, flush=True)

        report = KekRotation(storage.db, old, new, progress).run()
    finally:
        storage.close()
    for what in sorted(set(report.resealed) | set(report.already)):
        print(f"kek rotate: {what}: {report.resealed.get(what, 0)} sealed again, "
              f"{report.already.get(what, 0)} already under the new key", file=sys.stderr)
    where = "IDP_KEY_ENCRYPTION_KEY" if settings.key_encryption_key is not None else str(settings.data_dir / "kek")
    print(f"kek rotate: done. Put the new key in {where} (keep the old one until a backup under the new "
          "key exists), then start the provider.", file=sys.stderr)
    return 0
