"""One-time form keys: a form that makes something (a token) acts once, however often it is sent.

A token is shown only in the response to the POST that creates it, so the usual redirect after
the POST cannot be used. Instead each such form carries a key, and:

- the database holds the guarantee: `used_once(key)` inserts the key under a unique constraint in
  the same transaction as what the form makes, so of two posts of one form sent at once (a double
  click, two tabs, a replay) the second waits for the first to commit, then fails to insert, and
  is answered as a resubmission, whatever any session holds;
- the key is signed for the browser session it was given to, with the time it was made, so a key
  of another session, a made-up or a stale one is refused before any query. Nothing is written to
  the session: concurrent requests of one session would overwrite each other's writes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from common.models import UsedFormKey

ALREADY_USED = (
    "That form was already used, so no new token was created. A token is shown only once: "
    "if you did not copy it, revoke it and create a new one."
)
STALE = (
    "That form has expired or belongs to another sign-in, so nothing was created. "
    "Open the form again."
)
# How long an opened form stays usable; used keys are kept as long, then purged.
MAX_AGE = timedelta(days=1)


class FormKeyUsed(Exception):
    """The key has done its one action already (or is doing it in a concurrent request)."""


def _signer(request: HttpRequest) -> signing.TimestampSigner:
    if request.session.session_key is None:
        request.session.save()
    return signing.TimestampSigner(salt=f"common.once:{request.session.session_key}")


def new_form_key(request: HttpRequest) -> str:
    """A key for one form given to this browser session (the value of its hidden field)."""
    return _signer(request).sign(secrets.token_urlsafe(16))


def form_key_of(request: HttpRequest, value: str) -> str | None:
    """The key a form's field carries, if this session was given it within MAX_AGE, else None."""
    if not value:
        return None
    try:
        return _signer(request).unsign(value, max_age=MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return None


@contextmanager
def used_once(key: str) -> Iterator[None]:
    """Run the block in a transaction that also records `key` as used: FormKeyUsed if it was.

    An exception in the block rolls the key back with everything else, so a refused form can be
    corrected and sent again with the same key.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the failed insert must not end the rest
                UsedFormKey.objects.create(key=key)
        except IntegrityError as error:
            raise FormKeyUsed from error
        transaction.on_commit(purge_used_form_keys)
        yield


def purge_used_form_keys() -> int:
    """Forget keys older than MAX_AGE: their signatures have expired, so none can come back."""
    deleted, _ = UsedFormKey.objects.filter(used_at__lt=timezone.now() - MAX_AGE).delete()
    return deleted
