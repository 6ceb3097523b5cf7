"""The acr vocabulary: order, URIs, aliases, upstream mapping."""

from __future__ import annotations

import pytest

from policies.loa import (
    Level,
    acr_values_supported,
    highest_mapped_level,
    map_upstream_acr,
    parse_acr,
    satisfies,
    validate_acr_mapping,
)
from tests.unit.policies.builders import ISSUER

ORDER = ["local-basic", "local-mfa", "vneid-l1", "vneid-l2", "cccd-chip", "pki-remote", "pki-hw"]


def test_levels_are_ordered_as_designed() -> None:
    assert [level.token for level in sorted(Level)] == ORDER


def test_discovery_lists_every_level_as_a_uri_under_the_issuer() -> None:
    assert acr_values_supported(ISSUER) == [f"{ISSUER}/acr/{token}" for token in ORDER]
    assert acr_values_supported(ISSUER + "/") == acr_values_supported(ISSUER)


@pytest.mark.parametrize(("value", "expected"), [
    (f"{ISSUER}/acr/vneid-l2", Level.VNEID_L2),
    (f"{ISSUER}/acr/pki-hw", Level.PKI_HW),
    ("LoA1", Level.VNEID_L1),
    ("LoA2", Level.VNEID_L2),
    ("vneid-l2", None),  # a bare token is not an acr value on the wire
    ("https://other.example/acr/vneid-l2", None),
    (f"{ISSUER}/acr/vneid-l3", None),
    ("http://eidas.europa.eu/LoA/high", None),
    ("loa2", None),
    ("1", None),
])
def test_parse_acr(value: str, expected: Level | None) -> None:
    assert parse_acr(value, ISSUER) == expected


def test_a_request_is_satisfied_by_that_level_or_higher() -> None:
    assert satisfies(Level.VNEID_L2, Level.VNEID_L2)
    assert satisfies(Level.PKI_HW, Level.VNEID_L1)
    assert not satisfies(Level.VNEID_L1, Level.VNEID_L2)
    assert not satisfies(None, Level.LOCAL_BASIC)
    assert satisfies(Level.LOCAL_BASIC, None)


def test_keycloak_default_acr_is_not_eid_level_one_unless_configured() -> None:
    assert map_upstream_acr({}, "1") == Level.LOCAL_BASIC
    assert map_upstream_acr({"1": "vneid-l1", "2": "vneid-l2"}, "1") == Level.VNEID_L1
    assert map_upstream_acr({"2": "vneid-l2"}, "1") == Level.LOCAL_BASIC


def test_unmapped_or_missing_upstream_acr_gets_the_configured_default() -> None:
    mapping = {"LoA2": Level.VNEID_L2}
    assert map_upstream_acr(mapping, None, default="vneid-l1") == Level.VNEID_L1
    assert map_upstream_acr(mapping, "something-new", default=Level.VNEID_L1) == Level.VNEID_L1
    assert map_upstream_acr(mapping, "LoA2", default="vneid-l1") == Level.VNEID_L2


def test_an_acr_mapping_with_an_unknown_local_level_is_refused() -> None:
    assert validate_acr_mapping({"1": "vneid-l1"}) == {"1": Level.VNEID_L1}
    with pytest.raises(ValueError, match="'1'.*vneid-level1"):
        validate_acr_mapping({"1": "vneid-level1"})


def test_the_highest_level_an_adapter_can_reach_comes_from_its_mapping() -> None:
    assert highest_mapped_level({"1": "vneid-l1", "2": "vneid-l2"}) == Level.VNEID_L2
    assert highest_mapped_level({}, default="pki-hw") == Level.PKI_HW
    assert highest_mapped_level({}) == Level.LOCAL_BASIC
