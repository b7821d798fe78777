"""The logs of a whole day's work, as a log shipper would read them (LOG_FORMAT=json).

Security events are named and carry identifiers, and no line ever holds a token, a resource
server's secret or a password, whatever callers get wrong.
"""

import json
import logging
import re
from datetime import UTC, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from common.logs import JsonFormatter, RequestContextFilter, TextFormatter
from tests.helpers import FORM, PASSWORD, basic

TOKEN_RE = re.compile(r"enrt_[0-9A-F]{64}")
# A password typed into the username field: it must not reach the logs either.
PASSWORD_AS_USERNAME = "Tr0ub4dor&3-typed-in-the-wrong-field"


class Lines(logging.Handler):
    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(formatter)
        self.addFilter(RequestContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs():
    """What the console handler prints, in both formats, for everything logged meanwhile."""
    handlers = {"json": Lines(JsonFormatter()), "text": Lines(TextFormatter())}
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.INFO)
    for handler in handlers.values():
        root.addHandler(handler)
    yield handlers
    for handler in handlers.values():
        root.removeHandler(handler)
    root.setLevel(previous)


def sign_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"login": username, "password": password})


def introspect(client: Client, token: str, client_id: str, secret: str):
    return client.post(
        "/connect/introspect",
        f"token={token}",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )


def a_day_of_work(alice, bob, sync_app, orders_api) -> list[str]:
    """Sign-ins, a token issued in the browser, checked, misused, rotated, revoked; returns the
    tokens."""
    browser = Client()
    sign_in(browser, "alice", "wrong password")
    sign_in(browser, PASSWORD_AS_USERNAME, "x")
    assert sign_in(browser, "alice", PASSWORD).status_code == 302
    page = browser.get("/profile/security/tokens/new/").content.decode()
    form_key = re.search(r'name="form_key" value="([^"]+)"', page)[1]
    expiry = (timezone.now().astimezone(UTC) + timedelta(days=30)).date().isoformat()
    created = browser.post(
        "/profile/security/tokens/new/",
        {
            "application": sync_app.pk,
            "description": "ci",
            "expires_at": expiry,
            "scopes": [sync_app.allowed_scopes.first().pk],
            "form_key": form_key,
        },
    )
    token = TOKEN_RE.search(created.content.decode())[0]

    api = Client()
    assert introspect(api, token, orders_api.client_id, orders_api.secret).json()["active"]
    introspect(api, token, orders_api.client_id, "not-the-secret")
    introspect(api, token, orders_api.secret, orders_api.client_id)  # id and secret swapped
    api.get("/api/tokens/self", {"access_token": token})  # refused: a token in a URL
    rotated = api.post(
        "/api/tokens/self/rotate", "", content_type=FORM, HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()
    api.post("/connect/revocation", f"token={rotated['token']}", content_type=FORM)

    guesser = Client(REMOTE_ADDR="203.0.113.66")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(guesser, "bob", "guess")
    return [token, rotated["token"]]


def test_a_day_of_work_logs_named_events_as_json_and_no_secret(
    logs, alice, bob, sync_app, orders_api
):
    token, replacement = a_day_of_work(alice, bob, sync_app, orders_api)

    entries = [json.loads(line) for line in logs["json"].lines]
    events = [e["event"] for e in entries if e["event"]]
    assert events.count("signin.failed") == 2 + settings.AXES_FAILURE_LIMIT
    for name in ["token.issued", "token.rotated", "token.revoked", "signin.locked_out"]:
        assert events.count(name) == 1, name
    assert events.count("introspection.denied") == 2

    issued = next(e for e in entries if e["event"] == "token.issued")
    assert issued["token_hint"] == token[-4:]
    assert issued["token_kind"] == "personal"
    assert issued["actor"] == "alice"
    assert re.fullmatch(r"[0-9a-f]{32}", issued["request_id"])
    assert issued["client_ip"] == "127.0.0.1"
    lockout = next(e for e in entries if e["event"] == "signin.locked_out")
    assert (lockout["username"], lockout["client_ip"]) == ("bob", "203.0.113.66")
    denied = [e for e in entries if e["event"] == "introspection.denied"]
    assert [e["client_id"] for e in denied] == ["orders-api", None]

    for line in logs["json"].lines + logs["text"].lines:
        for secret in [token, token[5:], replacement[5:], orders_api.secret, PASSWORD]:
            assert secret not in line
        assert PASSWORD_AS_USERNAME not in line


def test_every_line_of_a_request_carries_its_id_as_the_response_does(logs, client, db):
    response = client.get("/api/tokens/self", HTTP_X_REQUEST_ID="req-42")

    assert response["X-Request-ID"] == "req-42"
    entries = [json.loads(line) for line in logs["json"].lines]
    assert entries and all(e["request_id"] == "req-42" for e in entries)


def test_an_unlikely_request_id_is_replaced(client, db):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="a b\nforged log line")

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_anything_shaped_like_a_token_is_masked_even_in_a_message(logs, alice_token):
    logging.getLogger("tests").warning("pasted by mistake: %s", alice_token.plaintext)

    assert alice_token.plaintext not in logs["json"].lines[-1]
    assert "enrt_[masked]" in json.loads(logs["json"].lines[-1])["message"]
    assert alice_token.plaintext not in logs["text"].lines[-1]
