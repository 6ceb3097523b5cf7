"""The ``registry-check`` adapter: one POST per chip verification (idp/sandbox/registry.py has the
request and answer shapes); a service that does not answer is SourceUnavailable, never a "no"."""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx2

from adapters.base import RegistryAnswer, UpstreamRejected
from adapters.config import display_name_for
from adapters.oidc.http import json_object, upstream_errors
from adapters.registry_check.config import RegistryCheckConfig

CHECK_PATH = "/api/v1/kiem-tra-the"


class RegistryCheckAdapter:
    def __init__(self, config: RegistryCheckConfig) -> None:
        self.id = config.id
        self.config = config
        self._http = httpx2.Client(timeout=httpx2.Timeout(config.timeout_seconds), trust_env=False,
                                   follow_redirects=False)

    def display_name(self, locale: str) -> str:
        return display_name_for(self.config.display_name, locale, self.id)

    def close(self) -> None:
        self._http.close()

    def check(self, card: Mapping[str, str]) -> RegistryAnswer:
        body = {"so_dinh_danh": card["id_number"], "ho_ten": card["full_name"], "ngay_sinh": card["date_of_birth"],
                "ngay_cap": card["issue_date"]}
        with upstream_errors("registry_check"):
            response = self._http.post(self.config.base_url.rstrip("/") + CHECK_PATH, json=body, headers={
                "Authorization": f"Bearer {self.config.api_key.get_secret_value()}"})
        answer = json_object(response, "registry_check")
        verdict, current, reference = answer.get("ket_qua"), answer.get("con_hieu_luc"), answer.get("ma_giao_dich")
        if verdict not in ("KHOP", "KHONG_KHOP") or not isinstance(current, bool) or not isinstance(reference, str):
            raise UpstreamRejected("registry_check: the answer is not the expected shape", reason="malformed_response")
        return RegistryAnswer(genuine=verdict == "KHOP", current=current, reference=reference[:64],
                              checked_at=int(time.time()))
