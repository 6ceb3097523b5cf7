"""An independent check: ``openssl cms -verify`` of each synthetic EF.SOD against the test CSCA (and
its CRL) agrees with passive authentication, and the data-group hashes openssl's verified content
holds agree with ours."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from asn1crypto import core

from idp.ekyc import tlv
from idp.ekyc.datagroups import ChipRead
from idp.ekyc.errors import ChipRefused
from idp.ekyc.passive import verify_passive
from tests.unit.ekyc.chips import ChipSet

# refusals that are about EF.SOD's signature itself, which openssl also sees
SIGNATURE_REFUSALS = {"sod_malformed", "signer_untrusted", "signer_expired", "signer_revoked"}


def _openssl_verify(sod: bytes, chip_set: ChipSet, folder: Path) -> bytes | None:
    try:
        cms_der = tlv.read_single(sod, 0x77, "sod_malformed")
    except ChipRefused:
        cms_der = sod[2:]
    source, content, anchors = folder / "sod.der", folder / "content.der", folder / "csca-and-crl.pem"
    source.write_bytes(cms_der)
    # openssl cms reads the CRL from the CA file (it has no -CRLfile)
    anchors.write_bytes(chip_set.csca_bundle.read_bytes() + chip_set.csca_crl.read_bytes())
    content.unlink(missing_ok=True)
    done = subprocess.run(
        ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(source), "-CAfile", str(anchors),
         "-crl_check", "-purpose", "any", "-binary", "-out", str(content)],
        capture_output=True, timeout=30, check=False,
    )
    return content.read_bytes() if done.returncode == 0 else None


def _hashes(content: bytes) -> dict[int, bytes]:
    lds = core.Sequence.load(content)
    return {int(entry[0].native): entry[1].native for entry in core.SequenceOf.load(lds[2].dump(), spec=core.Sequence)}


def test_openssl_agrees_on_every_chip(chip_set: ChipSet, trust, tmp_path: Path) -> None:
    for chip in chip_set.chips:
        content = _openssl_verify(chip.sod, chip_set, tmp_path)
        try:
            verify_passive(ChipRead(chip.sod, chip.data_groups, chip.com), trust)
            ours = None
        except ChipRefused as refused:
            ours = refused.reason
        assert ours == chip.refusal or (chip.refusal == "aa_signature_invalid" and ours is None), chip.label
        if ours in SIGNATURE_REFUSALS:
            assert content is None, f"openssl accepted {chip.label}, which we refuse as {ours}"
            continue
        assert content is not None, f"openssl refused {chip.label}, which we accept"
        signed = _hashes(content)
        matches = all(hashlib.sha256(data).digest() == signed[n] for n, data in chip.data_groups.items())
        assert matches == (ours != "dg_hash_mismatch"), chip.label
