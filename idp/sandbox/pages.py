"""The sandbox's login-and-consent page (Vietnamese first): pick a synthetic citizen (or, at the
national portal, an organisation's account), agree."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from idp.sandbox.citizens import Citizen, Organisation

FORWARDED = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
             "code_challenge", "code_challenge_method", "acr_values", "prompt", "login_hint")  # fmt: skip


def login_page(title: str, action: str, params: Mapping[str, str], citizens: tuple[Citizen, ...],
               organisations: tuple[Organisation, ...] = ()) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params[name])}">' for name in FORWARDED if name in params
    )
    choices = "".join(
        f'<label><input type="radio" name="citizen" value="{c.personal_id}"{" checked" if i == 0 else ""}> '
        f"{escape(c.full_name)} — {c.birthdate.strftime('%d/%m/%Y')}</label><br>"
        for i, c in enumerate(citizens)
    )
    by_id = {c.personal_id: c for c in citizens}
    accounts = "".join(
        f'<label><input type="radio" name="citizen" value="{escape(o.account)}"> {escape(o.name)} — '
        f"người đại diện: {escape(by_id[o.representative].full_name if o.representative in by_id else '?')}</label><br>"
        for o in organisations
    )
    organisation_fieldset = f"<fieldset><legend>Tài khoản tổ chức</legend>{accounts}</fieldset>" if accounts else ""
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>{escape(title)}</title></head>
<body>
<h1>{escape(title)}</h1>
<p>Môi trường thử nghiệm: chọn một công dân giả lập. <em>(Sandbox: choose a synthetic citizen.)</em></p>
<form method="post" action="{escape(action)}">
{hidden}
<fieldset><legend>Công dân</legend>{choices}</fieldset>
{organisation_fieldset}
<p>Ứng dụng <strong>{escape(params.get("client_id", ""))}</strong> yêu cầu thông tin định danh của bạn.</p>
<button type="submit" name="decision" value="allow">Đồng ý và đăng nhập</button>
<button type="submit" name="decision" value="deny">Từ chối</button>
</form>
</body></html>"""


def error_page(message: str) -> str:
    return f"""<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Lỗi</title></head>
<body><h1>Không thể tiếp tục</h1><p>{escape(message)}</p></body></html>"""
