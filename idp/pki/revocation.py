"""Fetching revocation information (OCSP, CRL) for path validation, through the outbound guard.

pyhanko-certvalidator decides what to fetch and checks what comes back (OCSP response signature and
responder authorisation, nonce, freshness; CRL signature and scope; OCSP first, the CRL only when
OCSP did not answer "good"). This module supplies its fetchers, changed in three ways:

- every request goes through :func:`idp.net.outbound.outbound_client` (the addresses the operator
  allows; loopback only with ``IDP_ALLOW_LOOPBACK_CLIENT_URLS``), with the purpose's timeout, no
  redirect, a response size limit, and never a ``file:`` or ``ldap:`` URL;
- answers are kept in a :class:`RevocationCache` shared by the process until their
  ``nextUpdate``, at most an hour (an answer without one is not kept), so a busy sign-in page does
  not ask the CA's responder for every person;
- certificates are never fetched from AIA ``caIssuers`` URLs: the trust file lists the issuing CAs,
  and a signer sends its chain.
"""

from __future__ import annotations

import asyncio
import datetime
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import requests
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.fetchers.api import CertificateFetcher, FetcherBackend, Fetchers
from pyhanko_certvalidator.fetchers.requests_fetchers.crl_client import RequestsCRLFetcher
from pyhanko_certvalidator.fetchers.requests_fetchers.ocsp_client import RequestsOCSPFetcher
from pyhanko_certvalidator.util import issuer_serial

from idp.net.outbound import OutboundPolicy, outbound_client

MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # a national CA's CRL is large, but not this large
MAX_CACHE_ENTRIES = 4096
# Answers are kept until nextUpdate, but never longer than this: an answer is cached before it is
# checked, so one that fails its check (a forged response with a far nextUpdate) must not stay.
MAX_CACHE_SECONDS = 3600


class RevocationCache:
    """OCSP responses and CRLs by key, each kept until its ``nextUpdate`` (thread-safe, bounded:
    the oldest entry leaves first)."""

    def __init__(self, max_entries: int = MAX_CACHE_ENTRIES) -> None:
        self._entries: OrderedDict[Any, tuple[bytes, datetime.datetime]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._journal: list[tuple[Any, bytes, datetime.datetime]] | None = None

    def get(self, key: Any, now: datetime.datetime | None = None) -> bytes | None:
        now = now or datetime.datetime.now(datetime.UTC)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[1] <= now:
                del self._entries[key]
                return None
            return entry[0]

    def put(self, key: Any, der: bytes, next_update: datetime.datetime | None) -> None:
        if next_update is None:
            return
        latest = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=MAX_CACHE_SECONDS)
        next_update = min(next_update, latest)
        self.merge([(key, der, next_update)])

    def merge(self, entries: list[tuple[Any, bytes, datetime.datetime]]) -> None:
        """Keep ``entries`` (key, answer, until when), as :meth:`put` does."""
        with self._lock:
            for key, der, until in entries:
                self._entries[key] = (der, until)
                self._entries.move_to_end(key)
                if self._journal is not None:
                    self._journal.append((key, der, until))
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def start_journal(self) -> None:
        """In a forked child (idp/pki/isolation.py): a fresh lock (another thread of the parent may
        have held it at the fork), and from now on a record of what is kept, for the parent."""
        self._lock = threading.Lock()
        self._journal = []

    def journal(self) -> list[tuple[Any, bytes, datetime.datetime]]:
        """What was kept since :meth:`start_journal`."""
        return list(self._journal or [])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class _Response:
    content: bytes


class _GuardedHttp:
    """The requests fetchers' two HTTP calls, made through the outbound guard instead."""

    per_request_timeout: float
    policy: OutboundPolicy

    def _get(self, url: str, *, acceptable_content_types: tuple[str, ...]) -> Any:
        return asyncio.to_thread(self._request, "GET", url, None, {"Accept": ",".join(acceptable_content_types)})

    def _post(self, url: str, data: bytes, *, content_type: str, acceptable_content_types: tuple[str, ...]) -> Any:
        headers = {"Accept": ",".join(acceptable_content_types), "Content-Type": content_type}
        return asyncio.to_thread(self._request, "POST", url, data, headers)

    def _request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> _Response:
        if not url.lower().startswith(("http://", "https://")):
            raise requests.RequestException("only http and https revocation URLs are fetched")
        try:
            with outbound_client(self.policy, timeout=self.per_request_timeout) as http, \
                    http.stream(method, url, content=body, headers=headers) as response:
                if response.status_code != 200:
                    raise requests.RequestException(f"status code {response.status_code}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise requests.RequestException("response too large")
                    chunks.append(chunk)
                return _Response(b"".join(chunks))
        except httpx.HTTPError as exc:
            raise requests.RequestException(type(exc).__name__) from None


def _ocsp_next_update(response: asn1_ocsp.OCSPResponse) -> datetime.datetime | None:
    try:
        single = response["response_bytes"]["response"].parsed["tbs_response_data"]["responses"][0]
        value = single["next_update"].native
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return value if isinstance(value, datetime.datetime) else None


class GuardedOcspFetcher(_GuardedHttp, RequestsOCSPFetcher):
    """certvalidator's OCSP fetcher (nonce in every request) over the guard, with the cache."""

    def __init__(self, policy: OutboundPolicy, timeout: float, cache: RevocationCache) -> None:
        RequestsOCSPFetcher.__init__(self, per_request_timeout=timeout)
        self.policy = policy
        self._cache = cache
        self._from_cache: dict[Any, asn1_ocsp.OCSPResponse] = {}

    async def fetch(self, cert: Any, authority: Authority) -> asn1_ocsp.OCSPResponse:
        key = ("ocsp", issuer_serial(cert), authority.public_key.sha256)
        cached = self._cache.get(key)
        if cached is not None:
            response = asn1_ocsp.OCSPResponse.load(cached)
            self._from_cache[issuer_serial(cert)] = response
            return response
        response = await super().fetch(cert, authority)
        if isinstance(response, asn1_ocsp.OCSPResponse):
            self._cache.put(key, response.dump(), _ocsp_next_update(response))
        return response

    def fetched_responses(self) -> Iterable[asn1_ocsp.OCSPResponse]:
        return set(super().fetched_responses()) | set(self._from_cache.values())

    def fetched_responses_for_cert(self, cert: Any) -> Iterable[asn1_ocsp.OCSPResponse]:
        found = set(super().fetched_responses_for_cert(cert))
        cached = self._from_cache.get(issuer_serial(cert))
        return found | ({cached} if cached is not None else set())


class GuardedCrlFetcher(_GuardedHttp, RequestsCRLFetcher):
    """certvalidator's CRL fetcher over the guard, each CRL cached by URL until its nextUpdate."""

    def __init__(self, policy: OutboundPolicy, timeout: float, cache: RevocationCache) -> None:
        RequestsCRLFetcher.__init__(self, per_request_timeout=timeout)
        self.policy = policy
        self._cache = cache

    async def _fetch_single(self, url: str) -> Any:
        cached = self._cache.get(("crl", url))
        if cached is not None:
            return asn1_crl.CertificateList.load(cached)
        result = await RequestsCRLFetcher._fetch_single(self, url)
        if isinstance(result, asn1_crl.CertificateList):
            next_update = result["tbs_cert_list"]["next_update"].native
            self._cache.put(("crl", url), result.dump(), next_update if isinstance(next_update, datetime.datetime)
                            else None)
        return result


class NoCertificateFetching(CertificateFetcher):
    """Issuer certificates are not fetched from URLs in certificates (the trust file lists them)."""

    async def fetch_cert_issuers(self, cert: Any) -> Any:
        if False:  # an async generator that yields nothing
            yield None

    async def fetch_crl_issuers(self, certificate_list: Any) -> Any:
        if False:
            yield None

    def fetched_certs(self) -> Iterable[asn1_x509.Certificate]:
        return ()


class GuardedFetcherBackend(FetcherBackend):
    """Fetchers for one validation: through ``policy``, ``timeout`` seconds per request."""

    def __init__(self, policy: OutboundPolicy, timeout: float, cache: RevocationCache) -> None:
        self.policy = policy
        self.timeout = timeout
        self.cache = cache

    def get_fetchers(self) -> Fetchers:
        return Fetchers(ocsp_fetcher=GuardedOcspFetcher(self.policy, self.timeout, self.cache),
                        crl_fetcher=GuardedCrlFetcher(self.policy, self.timeout, self.cache),
                        cert_fetcher=NoCertificateFetching())

