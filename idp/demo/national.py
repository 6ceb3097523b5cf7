"""The demo's national e-ID: the VNeID and national-portal simulators (idp.sandbox) started on
loopback, configured as upstream adapters beside the local demo account, with a policy that lets
the two sample services use them and receive the Vietnamese e-ID claims."""

from __future__ import annotations

from typing import Any

import yaml

from idp.demo.seed import DEMO_CLIENTS, DEMO_SCOPES
from idp.sandbox import NationalSandbox
from idp.settings import Settings


def start_national_sandbox(settings: Settings) -> tuple[Settings, NationalSandbox | None]:
    """With ``--demo`` and no adapters file of the operator's: start the sandbox and return settings
    that point at it (adapters and policies written under the data folder)."""
    if not settings.demo or settings.adapters_file is not None:
        return settings, None
    sandbox = NationalSandbox.start()
    folder = settings.data_dir / "demo"
    (folder / "policies").mkdir(parents=True, exist_ok=True)
    entries = sandbox.adapter_configs()
    entries[0]["acr_map"] = {"1": "vneid-l1", "2": "vneid-l2"}  # as agreed with the (simulated) national operator
    local: dict[str, Any] = {"id": "local", "type": "local",
                             "display_name": {"vi": "Tài khoản trình diễn", "en": "Demo account"}}
    (folder / "adapters.yaml").write_text(yaml.safe_dump({"adapters": [*entries, local]}, allow_unicode=True))
    policy = {"version": 1, "adapters": ["vneid", "dvcqg", "local"], "scopes": list(DEMO_SCOPES),
              "description": "Dịch vụ mẫu: đăng nhập bằng VNeID, Cổng DVCQG hoặc tài khoản trình diễn"}
    (folder / "policies" / "default.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True))
    for client_id in DEMO_CLIENTS:
        own = {**policy, "client_id": client_id}
        (folder / "policies" / f"{client_id}.yaml").write_text(yaml.safe_dump(own, allow_unicode=True))
    updated = settings.model_copy(update={"adapters_file": folder / "adapters.yaml",
                                          "policies_dir": folder / "policies"})
    return updated, sandbox
