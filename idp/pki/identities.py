"""The signer of a verified document as the requesting relying party knows them.

A signature names its signer by personal ID number (idp/pki/subjects.py). When the provider links
that number to a person (one person per personal ID number) and that person has an active grant
with the relying party asking, the report carries the person's ``sub`` for that relying party
(pairwise or public, as its ID tokens carry it). For anyone else nothing is added: a relying party
never learns whether a stranger has an e-identity here, nor another service's identifier.
"""

from __future__ import annotations

from idp.identity.protection import personal_id_hash
from idp.oidc.client_directory import ClientDirectory
from idp.oidc.subject_ids import SubjectIdentifiers
from idp.storage.protocols import GrantStore, SubjectStore


class SignerIdentities:
    """Built once by the compose step over the subjects, grants, clients and subject identifiers."""

    def __init__(self, *, subjects: SubjectStore, grants: GrantStore, clients: ClientDirectory,
                 subject_ids: SubjectIdentifiers, hash_key: bytes) -> None:
        self._subjects = subjects
        self._grants = grants
        self._clients = clients
        self._subject_ids = subject_ids
        self._hash_key = hash_key

    def sub_for(self, personal_id: str, client_id: str) -> str | None:
        """The ``sub`` the client knows the person with ``personal_id`` by, or None."""
        client = self._clients.find_client(client_id)
        subject = self._subjects.get_by_personal_id_hash(personal_id_hash(personal_id, self._hash_key))
        if client is None or subject is None:
            return None
        if not any(grant.client_id == client_id for grant in self._grants.list_active_for_subject(subject.id)):
            return None
        return self._subject_ids.for_client(subject.id, client)
