"""Passive authentication: every synthetic chip verified, every broken variant refused with its reason."""

from __future__ import annotations

import datetime as dt

import pytest

from idp.ekyc.datagroups import ChipRead
from idp.ekyc.dg1 import check_digit, parse_mrz
from idp.ekyc.errors import ChipRefused
from idp.ekyc.passive import verify_passive
from idp.ekyc.trust import TrustStoreError, load_trust_store
from tests.unit.ekyc.chips import PEOPLE, ChipSet, chip_material, encode_dg1, encode_dg13, sign_sod


def _read(chip) -> ChipRead:
    return ChipRead(chip.sod, chip.data_groups, chip.com)


def test_every_genuine_chip_is_verified_and_reads_as_its_person(chip_set: ChipSet, trust) -> None:
    assert len(chip_set.genuine()) == 4
    for chip in chip_set.genuine():
        result = verify_passive(_read(chip), trust)
        citizen = result.citizen
        assert citizen.id_number == chip.person.id_number
        assert citizen.full_name == chip.person.full_name
        assert citizen.date_of_birth == chip.person.birth
        assert citizen.permanent_residence == chip.person.residence
        assert citizen.father_name == chip.person.father and citizen.mother_name == chip.person.mother
        assert citizen.old_id_number == chip.person.old_id
        assert result.crl_checked
        assert "CSCA Viet Nam" in result.csca


@pytest.mark.parametrize("label", ["changed-dg13", "foreign-ds", "expired-ds", "revoked-ds", "truncated-sod"])
def test_each_broken_variant_is_refused_with_its_reason(chip_set: ChipSet, trust, label: str) -> None:
    chip = chip_set.by_label(label)
    with pytest.raises(ChipRefused) as refused:
        verify_passive(_read(chip), trust)
    assert refused.value.reason == chip.refusal


def test_revocation_is_only_known_from_a_crl(chip_set: ChipSet) -> None:
    without_crl = load_trust_store(chip_set.csca_bundle)
    result = verify_passive(_read(chip_set.by_label("revoked-ds")), without_crl)
    assert not result.crl_checked


def test_a_data_group_the_sod_does_not_cover_is_refused(chip_set: ChipSet, trust) -> None:
    chip = chip_set.by_label("ecdsa-no-aa")
    groups = dict(chip.data_groups)
    groups[15] = chip_set.by_label("rsa-aa-sha256").data_groups[15]
    with pytest.raises(ChipRefused) as refused:
        verify_passive(ChipRead(chip.sod, groups, chip.com), trust)
    assert refused.value.reason == "dg_not_signed"


def test_ef_com_must_list_what_was_sent(chip_set: ChipSet, trust) -> None:
    plain = chip_set.by_label("ecdsa-no-aa")
    with pytest.raises(ChipRefused) as refused:
        verify_passive(ChipRead(plain.sod, plain.data_groups, b"\x60\x0e\x5f\x01\x02\x30\x31\x5f\x36\x02\x30"
                                b"\x30\x5c\x01\x61"), trust)
    assert refused.value.reason == "com_malformed"


def test_dg1_and_dg13_that_disagree_are_refused_even_when_signed() -> None:
    csca, signers, crl, chips = chip_material()
    person = PEOPLE[0]
    issued = dt.date.today() - dt.timedelta(days=20)
    expiry = issued.replace(year=issued.year + 15)
    groups = {1: encode_dg1(PEOPLE[1], expiry), 13: encode_dg13(person, issued, expiry)}
    sod = sign_sod(signers["rsa"], groups, dt.datetime.now(dt.UTC) - dt.timedelta(days=20))
    from idp.ekyc.trust import TrustStore

    with pytest.raises(ChipRefused) as refused:
        verify_passive(ChipRead(sod, groups), TrustStore((csca.certificate,), (crl,)))
    assert refused.value.reason == "dg_inconsistent"


def test_an_expired_card_is_refused(chip_set: ChipSet, trust) -> None:
    chip = chip_set.genuine()[0]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=16 * 365)
    with pytest.raises(ChipRefused) as refused:
        verify_passive(_read(chip), trust, now=later)
    assert refused.value.reason == "document_expired"


def test_dg1_and_dg13_are_required() -> None:
    with pytest.raises(ChipRefused) as refused:
        ChipRead(b"\x77\x00", {1: b"\x61\x00"})
    assert refused.value.reason == "dg_missing"


def test_check_digits_follow_icao_9303_part_5_td1_example() -> None:
    mrz = ("I<UTOD231458907<<<<<<<<<<<<<<<" "7408122F1204159UTO<<<<<<<<<<<6" "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
    parsed = parse_mrz(mrz)
    assert parsed.document_number == "D23145890"
    assert parsed.date_of_birth == dt.date(1974, 8, 12)
    assert parsed.primary_identifier == "ERIKSSON" and parsed.secondary_identifier == "ANNA MARIA"
    assert check_digit("D23145890") == "7"
    with pytest.raises(ChipRefused) as refused:
        parse_mrz(mrz[:14] + "8" + mrz[15:])
    assert refused.value.reason == "mrz_check_digit"


def test_a_bundle_without_a_ca_or_a_crl_from_elsewhere_stops_loading(chip_set: ChipSet, tmp_path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    _, signers, _, _ = chip_material()
    not_ca = tmp_path / "ds.pem"
    not_ca.write_bytes(signers["rsa"].certificate.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(TrustStoreError, match="not a CA"):
        load_trust_store(not_ca)
    now = dt.datetime.now(dt.UTC)
    forged = (x509.CertificateRevocationListBuilder().issuer_name(chip_set.csca_certificate.subject)
              .last_update(now).next_update(now + dt.timedelta(days=1))
              .sign(signers["foreign"].key, hashes.SHA256()))
    other = tmp_path / "forged-crl.pem"
    other.write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(TrustStoreError, match="not signed by any configured CSCA"):
        load_trust_store(chip_set.csca_bundle, other)
