"""The registry-check adapter against the national sandbox's card-verification simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.base import RegistryCheck, SourceUnavailable, UpstreamRejected
from adapters.registry_check.adapter import RegistryCheckAdapter
from adapters.registry_check.config import RegistryCheckConfig
from idp.sandbox import CITIZENS, NationalSandbox

CITIZEN = CITIZENS[0]
CARD = {"id_number": CITIZEN.personal_id, "full_name": CITIZEN.full_name,
        "date_of_birth": CITIZEN.birthdate.isoformat(), "issue_date": "2024-05-06"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[NationalSandbox]:
    with NationalSandbox.start() as running:
        yield running


def _adapter(sandbox: NationalSandbox, **overrides: object) -> RegistryCheckAdapter:
    return RegistryCheckAdapter(RegistryCheckConfig.model_validate(sandbox.registry_adapter_config() | overrides))


def test_the_registry_confirms_a_known_card_and_not_an_altered_one(sandbox: NationalSandbox) -> None:
    adapter = _adapter(sandbox)
    _: RegistryCheck = adapter
    answer = adapter.check(CARD)
    assert answer.genuine and answer.current and answer.reference
    altered = adapter.check(CARD | {"full_name": "Nguyễn Văn Ân"})
    assert not altered.genuine and not altered.current
    adapter.close()


def test_a_wrong_key_is_a_refusal_and_a_silent_service_is_unavailable(sandbox: NationalSandbox) -> None:
    wrong_key = _adapter(sandbox, api_key="wrong")
    with pytest.raises(UpstreamRejected):
        wrong_key.check(CARD)
    wrong_key.close()
    silent = _adapter(sandbox, base_url="http://127.0.0.1:9", timeout_seconds=1)
    with pytest.raises(SourceUnavailable):
        silent.check(CARD)
    silent.close()
