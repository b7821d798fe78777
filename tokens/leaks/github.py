"""GitHub secret scanning: the keys GitHub signs its reports with, and checking a signature.

GitHub signs the raw body of each report (ECDSA P-256, SHA-256) and names the key in
`Github-Public-Key-Identifier`; its keys are published as `{"public_keys": [{"key_identifier",
"key" (PEM), "is_current"}]}` at LEAKS_GITHUB_KEYS_URL, or read from LEAKS_GITHUB_KEYS_FILE on a
machine without internet. The document is fetched once and kept (GitHub rate-limits that URL):
again after an hour, and when a report names a key not in it, at most once a minute, so a
stranger sending made-up key ids cannot make the portal hammer GitHub.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings

logger = logging.getLogger(__name__)

REFETCH_INTERVAL = 60.0  # seconds: an unknown key id fetches the document at most this often
MAX_AGE = 3600.0  # seconds: a document older than this is fetched again (keys retire)
FETCH_TIMEOUT = 5.0
MAX_DOCUMENT_BYTES = 256 * 1024


class KeysUnavailable(Exception):
    """No key document could be read (and none was read before): answer 503, GitHub retries."""


class SignatureRefused(Exception):
    """The report is not signed by a current GitHub key; the message says why (no secret)."""


@dataclass(frozen=True)
class PublicKey:
    key: ec.EllipticCurvePublicKey
    is_current: bool


def parse_keys(document: bytes) -> dict[str, PublicKey]:
    """The P-256 keys of a published-keys document by identifier; entries that are not are
    skipped (logged), a document that is not one raises ValueError."""
    parsed = json.loads(document)
    entries = parsed.get("public_keys") if isinstance(parsed, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the document has no public_keys list")
    keys = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        identifier, pem = entry.get("key_identifier"), entry.get("key")
        if not isinstance(identifier, str) or not isinstance(pem, str):
            continue
        try:
            key = load_pem_public_key(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError, TypeError):
            logger.warning("Skipping GitHub key %r: not a PEM public key", identifier[:100])
            continue
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            logger.warning("Skipping GitHub key %r: not an ECDSA P-256 key", identifier[:100])
            continue
        keys[identifier] = PublicKey(key, entry.get("is_current") is True)
    return keys


def _read_document() -> bytes:
    if settings.LEAKS_GITHUB_KEYS_FILE:
        return Path(settings.LEAKS_GITHUB_KEYS_FILE).read_bytes()[:MAX_DOCUMENT_BYTES]
    url = settings.LEAKS_GITHUB_KEYS_URL
    if not url.startswith(("https://", "http://")):
        raise ValueError("LEAKS_GITHUB_KEYS_URL is not an http(s) URL")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as answer:  # noqa: S310
        return answer.read(MAX_DOCUMENT_BYTES)


class GitHubKeys:
    """The published keys, fetched when needed and kept; one per process, shared by threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.fetches = 0
        self._keys: dict[str, PublicKey] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()

    def key(self, identifier: str) -> PublicKey | None:
        with self._lock:
            now = self.clock()
            age = None if self._read_at is None else now - self._read_at
            if (
                age is None
                or age >= MAX_AGE
                or (identifier not in self._keys and age >= REFETCH_INTERVAL)
            ):
                self._load(now)
            return self._keys.get(identifier)

    def _load(self, now: float) -> None:
        self.fetches += 1
        try:
            keys = parse_keys(_read_document())
        except (OSError, ValueError) as error:
            logger.warning("Could not read GitHub's secret scanning keys: %s", error)
            if self._read_at is None:
                raise KeysUnavailable from None
            # Keep the keys known so far; try again no sooner than an unknown id allows.
            self._read_at = now - MAX_AGE + REFETCH_INTERVAL
            return
        self._keys, self._read_at = keys, now

    def verify(self, body: bytes, identifier: str, signature: str) -> None:
        """SignatureRefused unless `signature` (base64 DER) signs `body` with the current key
        `identifier`."""
        if not identifier or not signature:
            raise SignatureRefused(
                "Send Github-Public-Key-Identifier and Github-Public-Key-Signature."
            )
        if len(identifier) > 200:
            raise SignatureRefused("The key identifier is not one of GitHub's keys.")
        try:
            der = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureRefused("The signature is not base64.") from None
        key = self.key(identifier)
        if key is None:
            raise SignatureRefused("The key identifier is not one of GitHub's keys.")
        if not key.is_current:
            raise SignatureRefused("The key is no longer current.")
        try:
            key.key.verify(der, body, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            raise SignatureRefused("The signature does not match the body.") from None


_process_keys: GitHubKeys | None = None
_process_lock = threading.Lock()


def process_keys() -> GitHubKeys:
    global _process_keys
    with _process_lock:
        if _process_keys is None:
            _process_keys = GitHubKeys()
        return _process_keys


def forget_keys() -> None:
    """Start again from no document (tests; a changed setting)."""
    global _process_keys
    with _process_lock:
        _process_keys = None
