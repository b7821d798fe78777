"""One-time form keys: a token form sent twice (reload, back button, double click) issues once.

A token is shown only in the response to the POST that creates it, so the usual redirect after
the POST cannot be used; instead each create form carries a key kept in the session, and a key
counts once.
"""

import secrets

from django.http import HttpRequest

SESSION_KEY = "token_form_nonces"
ALREADY_USED = (
    "That form was already used, so no new token was created. A token is shown only once: "
    "if you did not copy it, revoke it and create a new one."
)
# Enough for several create forms open in tabs; older ones simply stop working.
KEYS_KEPT = 10


def new_form_key(request: HttpRequest) -> str:
    key = secrets.token_urlsafe(16)
    request.session[SESSION_KEY] = [*request.session.get(SESSION_KEY, [])[-(KEYS_KEPT - 1) :], key]
    return key


def form_key_is_fresh(request: HttpRequest, key: str) -> bool:
    return bool(key) and key in request.session.get(SESSION_KEY, [])


def use_form_key(request: HttpRequest, key: str) -> None:
    request.session[SESSION_KEY] = [k for k in request.session.get(SESSION_KEY, []) if k != key]
