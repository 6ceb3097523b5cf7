"""The loaded folder of policy documents: which policy governs which client."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from policies.document import DEFAULT_NAME, DENY_ALL, ClientPolicy, PolicyError, load_policy_file

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
BUILTIN_DEFAULT = EXAMPLES_DIR / "default.yaml"


@dataclass(frozen=True)
class PolicySet:
    """Policies by client id, plus the default for clients without a document of their own."""

    policies: Mapping[str, ClientPolicy] = field(default_factory=dict)
    default: ClientPolicy = DENY_ALL
    folder: Path | None = None

    @classmethod
    def load(cls, folder: Path | str, *, known_adapters: Collection[str] | None = None) -> PolicySet:
        """Read every ``*.yaml`` in ``folder`` (not recursive); the first invalid document raises
        :class:`PolicyError`. ``known_adapters``: the configured adapter ids, to refuse a policy
        naming an adapter that does not exist (None: not checked)."""
        root = Path(folder)
        if not root.is_dir():
            raise PolicyError(str(root), None, None, "not a folder")
        known = frozenset(known_adapters) if known_adapters is not None else None
        policies: dict[str, ClientPolicy] = {}
        default = DENY_ALL
        for path in policy_files(root):
            policy = load_policy_file(path, known_adapters=known)
            if path.stem == DEFAULT_NAME:
                default = policy
            else:
                policies[path.stem] = policy
        return cls(policies=policies, default=default, folder=root)

    @classmethod
    def builtin(cls, *, known_adapters: Collection[str] | None = None) -> PolicySet:
        """The policy of the zero-configuration provider: ``policies/examples/default.yaml`` for
        every client (local accounts, standard scopes, no restricted scope)."""
        known = frozenset(known_adapters) if known_adapters is not None else None
        return cls(default=load_policy_file(BUILTIN_DEFAULT, known_adapters=known))

    @classmethod
    def from_folder_or_builtin(cls, folder: Path | None, *,
                               known_adapters: Collection[str] | None = None) -> PolicySet:
        """What the provider uses: the configured folder (``IDP_POLICIES_DIR``) or the built-in."""
        if folder is None:
            return cls.builtin(known_adapters=known_adapters)
        return cls.load(folder, known_adapters=known_adapters)

    def for_client(self, client_id: str) -> ClientPolicy:
        """The client's own policy, else the default (deny-all when the folder has none)."""
        return self.policies.get(client_id, self.default)

    def has_own_policy(self, client_id: str) -> bool:
        return client_id in self.policies


def policy_files(folder: Path) -> list[Path]:
    """The documents of a folder, sorted; a ``.yml`` file is refused rather than ignored."""
    files = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix == ".yml":
            raise PolicyError(str(path), None, None, "policy files end in .yaml: rename it")
        if path.suffix == ".yaml":
            files.append(path)
    return files
