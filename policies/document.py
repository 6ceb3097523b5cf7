"""Per-client policy documents: one versioned YAML file per relying party, deny by default.

A folder (``IDP_POLICIES_DIR``) holds ``<client_id>.yaml`` files and ``default.yaml``, which applies
to every client without a file of its own. A field left out denies: no adapter, no scope beyond
``openid``, no restricted claim. Without ``default.yaml`` a client without a file gets the empty
policy, which no sign-in can pass. An invalid document stops loading with one error naming the
file, the line and the field. See ``policies/examples/`` for commented documents.

Document fields (schema ``version: 1``):

- ``client_id``: must equal the file name (omitted in ``default.yaml``)
- ``description``: free text for people
- ``adapters``: adapter ids a person may sign in with for this client (empty: none)
- ``minimum_acr``: the lowest level (token, e.g. ``vneid-l1``) any sign-in must reach
- ``mfa_required``: the sign-in must have used two factors
- ``mfa_required_roles``: the sign-in must have used two factors when the person holds one of these
  roles (a directory group mapped to a role by the adapter's ``roles``, or a local account's role)
- ``max_age``: seconds since the last active authentication (a ceiling on the request's max_age)
- ``step_up``: rules ``{scope, acr, within_seconds}``: a request for ``scope`` needs a sign-in at
  ``acr`` or higher that happened at most ``within_seconds`` ago
- ``step_up_window_seconds``: how long a step-up raises the session's level before falling back
- ``scopes``: scopes the client may receive; listing a restricted scope (vn_id, vn_eid, vn_org,
  vn_official, vn_cert) is the policy's approval of it. ``openid`` is always allowed.
- ``withheld_claims``: claims never released even though their scope is allowed
- ``subject_type``: ``pairwise`` (default) or ``public``
- ``session_lifetime_seconds``: the longest a sign-in is reused for this client
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from idp.errors import IdpError
from policies.claims import KNOWN_CLAIMS
from policies.loa import Level, LevelField
from policies.yaml_lines import LocatedDocument, YamlDocumentError, dotted, load_located

SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,128}$")  # RFC 6749 §3.3 scope-token
ADAPTER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CLIENT_ID_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$")
DEFAULT_NAME = "default"


class PolicyError(IdpError):
    """A policy document is invalid; the message names the file, the line and the field."""

    def __init__(self, source: str, line: int | None, field: str | None, message: str) -> None:
        where = source + (f", line {line}" if line else "") + (f", field {field}" if field else "")
        super().__init__(f"invalid policy {where}: {message}")
        self.source = source
        self.line = line
        self.field = field
        self.reason = message


class FieldProblem(ValueError, IdpError):
    """A cross-field rule broken at ``path`` (so the error can name the exact field and line)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


class StepUpRule(BaseModel):
    """A request for ``scope`` needs a sign-in at ``acr`` or higher within ``within_seconds``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: str
    acr: LevelField
    within_seconds: int = Field(ge=1, le=86400)


class ClientPolicy(BaseModel):
    """One client's policy (or the default one). Immutable; ``source`` and ``digest`` say which
    file and which revision of it, for explanations and the audit trail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    client_id: str | None = None
    description: str = ""
    adapters: tuple[str, ...] = ()
    minimum_acr: LevelField = Level.LOCAL_BASIC
    mfa_required: bool = False
    mfa_required_roles: tuple[str, ...] = ()
    max_age: int | None = Field(default=None, ge=0)
    step_up: tuple[StepUpRule, ...] = ()
    step_up_window_seconds: int = Field(default=300, ge=30, le=86400)
    scopes: tuple[str, ...] = ()
    withheld_claims: tuple[str, ...] = ()
    subject_type: Literal["pairwise", "public"] = "pairwise"
    session_lifetime_seconds: int | None = Field(default=None, ge=60)
    #: Whether the service accepts a sign-in with an organisation e-ID account (an organisation, not
    #: a person); without it such a session is asked to sign in as a person.
    organisations: bool = False

    _source: str = PrivateAttr(default="<built in>")
    _digest: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        return self._source

    @property
    def digest(self) -> str:
        """SHA-256 of the file the policy was read from (empty for a policy built in code)."""
        return self._digest

    @property
    def allowed_scopes(self) -> frozenset[str]:
        return frozenset(self.scopes) | {"openid"}

    @field_validator("adapters")
    @classmethod
    def _adapter_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, adapter in enumerate(value):
            if not ADAPTER_ID.match(adapter):
                raise FieldProblem(("adapters", index), f"{adapter!r} is not an adapter id")
        return _unique(value, "adapter")

    @field_validator("scopes")
    @classmethod
    def _scope_tokens(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, scope in enumerate(value):
            if not SCOPE_TOKEN.match(scope):
                raise FieldProblem(("scopes", index), f"{scope!r} is not a scope (RFC 6749 scope-token)")
        return _unique(value, "scope")

    @field_validator("withheld_claims")
    @classmethod
    def _known_claims(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, claim in enumerate(value):
            if claim not in KNOWN_CLAIMS:
                raise FieldProblem(("withheld_claims", index), f"unknown claim {claim!r}")
        return _unique(value, "claim")

    @model_validator(mode="after")
    def _step_up_rules_fit(self) -> ClientPolicy:
        seen: set[str] = set()
        for index, rule in enumerate(self.step_up):
            if rule.scope not in self.allowed_scopes:
                raise FieldProblem(("step_up", index, "scope"),
                                   f"step-up rule for scope {rule.scope!r}, which `scopes` does not allow")
            if rule.scope in seen:
                raise FieldProblem(("step_up", index, "scope"), f"a second step-up rule for {rule.scope!r}")
            if rule.acr < self.minimum_acr:
                raise FieldProblem(("step_up", index, "acr"), "a step-up rule cannot ask less than minimum_acr")
            seen.add(rule.scope)
        return self


def _unique(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    if len(set(values)) != len(values):
        duplicate = next(v for v in values if values.count(v) > 1)
        raise ValueError(f"{what} {duplicate!r} listed twice")
    return values


DENY_ALL = ClientPolicy(version=1, description="No policy: every sign-in is refused.")


def parse_policy(text: str, source: str, *, expected_client_id: str | None = None,
                 known_adapters: frozenset[str] | None = None) -> ClientPolicy:
    """Validate one document's text; raise :class:`PolicyError` naming ``source``, line, field."""
    try:
        located = load_located(text)
    except YamlDocumentError as exc:
        raise PolicyError(source, exc.line, None, exc.message) from None
    try:
        policy = ClientPolicy.model_validate(located.data)
    except ValidationError as exc:
        raise _first_error(exc, located, source) from None
    _check_identity(policy, located, source, expected_client_id)
    if known_adapters is not None:
        for index, adapter in enumerate(policy.adapters):
            if adapter not in known_adapters:
                raise PolicyError(source, located.line_of(("adapters", index)), f"adapters[{index}]",
                                  f"no adapter {adapter!r} is configured")
    policy._source = source
    policy._digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return policy


def _check_identity(policy: ClientPolicy, located: LocatedDocument, source: str,
                    expected: str | None) -> None:
    line = located.line_of(("client_id",))
    if expected is None:
        if policy.client_id not in (None, DEFAULT_NAME):
            raise PolicyError(source, line, "client_id", "default.yaml applies to every client: leave it out")
    elif policy.client_id != expected:
        raise PolicyError(source, line, "client_id",
                          f"must be {expected!r}, the file's name (found {policy.client_id!r})")


def _first_error(exc: ValidationError, located: LocatedDocument, source: str) -> PolicyError:
    error = exc.errors()[0]
    path = tuple(part for part in error["loc"] if isinstance(part, str | int))
    problem = (error.get("ctx") or {}).get("error")
    if isinstance(problem, FieldProblem):
        path = problem.path
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field (a misspelling?)"
    elif error["type"] == "missing":
        message = "required field is missing"
    return PolicyError(source, located.line_of(path), dotted(path) if path else None, message)


def load_policy_file(path: Path, *, known_adapters: frozenset[str] | None = None) -> ClientPolicy:
    """Read and validate one file; its name (without ``.yaml``) is the client id it governs."""
    name = path.stem
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PolicyError(str(path), None, None, "not UTF-8 text") from None
    except OSError as exc:
        raise PolicyError(str(path), None, None, f"cannot read it ({exc.strerror})") from None
    return parse_policy(text, str(path), expected_client_id=None if name == DEFAULT_NAME else name,
                        known_adapters=known_adapters)
