"""POST /api/leaks/github: GitHub secret scanning reports, signed by GitHub's published keys.

The tests play GitHub: they make a P-256 key pair, publish its public half from a local HTTP
server (as GitHub publishes its keys), and sign each body with the private half.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail

from tokens.domain import lifecycle
from tokens.format import display_hint, hash_token, make_token
from tokens.leaks.github import forget_keys, process_keys
from tokens.models import ReferenceToken, TokenEvent, TokenKind

URL = "/api/leaks/github"
KEY_ID = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a"
LEAK = "https://github.com/octo-org/octo-repo/blob/main/settings.py"


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(body: bytes, key: ec.EllipticCurvePrivateKey) -> str:
    return base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()


@dataclass
class KeyServer:
    """GitHub's published-keys document, served from this machine; counts the fetches."""

    url: str = ""
    keys: list[dict] = field(default_factory=list)
    fetches: int = 0

    def publish(self, identifier: str, key: ec.EllipticCurvePrivateKey, current: bool = True):
        self.keys.append({"key_identifier": identifier, "key": pem(key), "is_current": current})

    def document(self) -> bytes:
        return json.dumps({"public_keys": self.keys}).encode()


@pytest.fixture
def key_server(settings) -> Iterator[KeyServer]:
    server_state = KeyServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.fetches += 1
            body = server_state.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}/meta/public_keys"
    settings.LEAKS_GITHUB_KEYS_URL = server_state.url
    settings.LEAKS_GITHUB_KEYS_FILE = ""
    forget_keys()
    yield server_state
    forget_keys()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def github_key(key_server) -> ec.EllipticCurvePrivateKey:
    """GitHub's current signing key."""
    key = new_key()
    key_server.publish(KEY_ID, key)
    return key


def post(client, body: bytes, key: ec.EllipticCurvePrivateKey | None, key_id: str = KEY_ID):
    headers = {"HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER": key_id}
    if key is not None:
        headers["HTTP_GITHUB_PUBLIC_KEY_SIGNATURE"] = sign(body, key)
    return client.generic("POST", URL, body, content_type="application/json", **headers)


def batch(*tokens: str) -> bytes:
    items = [{"token": t, "type": "enrt_token", "url": LEAK, "source": "content"} for t in tokens]
    return json.dumps(items).encode()


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_a_batch_gets_its_labels_and_only_real_live_tokens_are_revoked(
    client, github_key, alice_token, sync_service_token, alice, django_capture_on_commit_callbacks
):
    lifecycle.revoke_token(sync_service_token.token, by=alice, reason="retired")
    unknown, malformed = make_token(), "enrt_" + "A" * 64
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            batch(alice_token.plaintext, sync_service_token.plaintext, unknown, malformed),
            github_key,
        )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == [
        {"token_hash": sha256(token), "token_type": "enrt_token", "label": label}
        for token, label in [
            (alice_token.plaintext, "true_positive"),
            (sync_service_token.plaintext, "true_positive"),
            (unknown, "false_positive"),
            (malformed, "false_positive"),
        ]
    ]
    assert alice_token.plaintext not in response.content.decode()
    alice_row = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert alice_row.revocation_reason == "leaked"
    event = alice_row.events.get(action="revoked")
    assert (event.leak_source, event.leak_url) == ("github", LEAK)
    # The service token was revoked before: left as it was, and nobody is told again.
    service = ReferenceToken.objects.get(pk=sync_service_token.token.pk)
    assert service.revocation_reason == "retired"
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert LEAK in mail.outbox[0].body


def _nothing_revoked() -> bool:
    return not ReferenceToken.objects.revoked().exists()


def test_a_re_serialised_body_is_refused(client, github_key, alice_token):
    signed = batch(alice_token.plaintext)
    reserialised = json.dumps(json.loads(signed), indent=2).encode()

    response = client.generic(
        "POST",
        URL,
        reserialised,
        content_type="application/json",
        HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER=KEY_ID,
        HTTP_GITHUB_PUBLIC_KEY_SIGNATURE=sign(signed, github_key),
    )

    assert response.status_code == 401
    assert response.json()["error_description"] == "The signature does not match the body."
    assert _nothing_revoked()


def test_a_wrong_key_id_is_refused(client, github_key, alice_token):
    response = post(client, batch(alice_token.plaintext), github_key, key_id="not-a-key")

    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_signature",
        "error_description": "The key identifier is not one of GitHub's keys.",
    }
    assert _nothing_revoked()


def test_a_signature_by_another_key_is_refused(client, github_key, alice_token):
    response = post(client, batch(alice_token.plaintext), new_key())

    assert response.status_code == 401
    assert _nothing_revoked()


@pytest.mark.parametrize("signature", ["", "not base64!", base64.b64encode(b"junk").decode()])
def test_a_missing_or_garbled_signature_is_refused(client, github_key, alice_token, signature):
    response = client.generic(
        "POST",
        URL,
        batch(alice_token.plaintext),
        content_type="application/json",
        HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER=KEY_ID,
        HTTP_GITHUB_PUBLIC_KEY_SIGNATURE=signature,
    )

    assert response.status_code == 401
    assert _nothing_revoked()


def test_a_key_that_is_no_longer_current_is_refused(client, key_server, alice_token):
    old = new_key()
    key_server.publish("old-key", old, current=False)
    key_server.publish(KEY_ID, new_key())

    response = post(client, batch(alice_token.plaintext), old, key_id="old-key")

    assert response.status_code == 401
    assert response.json()["error_description"] == "The key is no longer current."
    assert _nothing_revoked()


def test_the_keys_are_fetched_once_for_many_requests(client, key_server, github_key, db):
    for _ in range(5):
        assert post(client, batch(make_token()), github_key).status_code == 200
    # Unknown key ids do not make it fetch again within the minute.
    for _ in range(5):
        assert post(client, batch(make_token()), new_key(), key_id="made-up").status_code == 401

    assert key_server.fetches == 1


def test_a_new_key_is_fetched_when_a_report_names_it_a_minute_later(
    client, key_server, github_key, db
):
    now = [1000.0]
    process_keys().clock = lambda: now[0]
    assert post(client, batch(make_token()), github_key).status_code == 200
    rotated = new_key()
    key_server.publish("rotated", rotated)

    # Within the minute the document is not fetched again: the new key is not known yet.
    now[0] += 30
    assert post(client, batch(make_token()), rotated, key_id="rotated").status_code == 401
    now[0] += 31
    assert post(client, batch(make_token()), rotated, key_id="rotated").status_code == 200
    assert key_server.fetches == 2


def test_the_keys_can_come_from_a_file(client, settings, tmp_path, alice_token):
    key = new_key()
    document = tmp_path / "github-keys.json"
    document.write_text(
        json.dumps(
            {"public_keys": [{"key_identifier": KEY_ID, "key": pem(key), "is_current": True}]}
        )
    )
    settings.LEAKS_GITHUB_KEYS_URL = "http://127.0.0.1:9/never-fetched"
    settings.LEAKS_GITHUB_KEYS_FILE = str(document)
    forget_keys()
    try:
        response = post(client, batch(alice_token.plaintext), key)
    finally:
        forget_keys()

    assert response.status_code == 200
    assert response.json()[0]["label"] == "true_positive"


def test_keys_that_cannot_be_read_answer_503_to_retry(client, settings, alice_token):
    settings.LEAKS_GITHUB_KEYS_URL = "http://127.0.0.1:9/nothing-listens"
    settings.LEAKS_GITHUB_KEYS_FILE = ""
    forget_keys()
    try:
        response = post(client, batch(alice_token.plaintext), new_key())
    finally:
        forget_keys()

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert _nothing_revoked()


def test_a_body_too_large_is_413(client, github_key, settings, db):
    settings.LEAKS_MAX_BODY_BYTES = 1000
    body = batch(*(make_token() for _ in range(20)))

    response = post(client, body, github_key)

    assert response.status_code == 413
    assert response.json()["error_description"] == "The body exceeds 1000 bytes."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "The body is not valid JSON."),
        (b'{"token": "x"}', "The body must be a JSON array of {token, type, url, source} objects."),
        (b'[{"type": "enrt_token"}]', "Item 0 is not an object with a string token."),
        (b'[{"token": 5}]', "Item 0 is not an object with a string token."),
        (b'[{"token": "x", "type": []}]', "Item 0 has a type that is not a string."),
        (b"\xff\xfe", "The body is not UTF-8."),
        (b"[" * 5000, "The JSON body nests too deeply."),
    ],
)
def test_a_signed_but_malformed_body_is_400(client, github_key, body, message):
    response = post(client, body, github_key)

    assert response.status_code == 400
    assert response.json()["error_description"] == message


def test_odd_strings_are_false_positives_not_errors(client, github_key, db):
    body = json.dumps([{"token": "\ud800", "type": "x", "url": "javascript:1"}]).encode()

    response = post(client, body, github_key)

    assert response.status_code == 200
    assert response.json()[0]["label"] == "false_positive"


@pytest.mark.parametrize("url", ["https://x.example/a\x00b", "https://x.example/\ud800", 7, None])
def test_a_url_the_database_could_not_keep_is_dropped_and_the_token_still_revoked(
    client, github_key, alice_token, url
):
    # Regression: a NUL or a lone surrogate passed the URL check, and PostgreSQL refused it (500).
    body = json.dumps([{"token": alice_token.plaintext, "type": "x", "url": url}]).encode()

    response = post(client, body, github_key)

    assert response.status_code == 200
    assert TokenEvent.objects.get(action="revoked").leak_url == ""


def test_get_is_405(client):
    response = client.get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.django_db(transaction=True)
def test_a_thousand_tokens_are_answered_well_within_30_seconds(
    client, github_key, alice, sync_app, in_30_days
):
    # Committed, as in production: the figure includes the commit and the owner's e-mail.
    plaintexts = [make_token() for _ in range(1000)]
    ReferenceToken.objects.bulk_create(
        ReferenceToken(
            kind=TokenKind.PERSONAL,
            user=alice,
            application=sync_app,
            created_by=alice,
            token_hash=hash_token(p),
            hint=display_hint(p),
            expires_at=in_30_days,
        )
        for p in plaintexts
    )
    body = batch(*plaintexts)
    mail.outbox.clear()

    started = time.perf_counter()
    response = post(client, body, github_key)
    elapsed = time.perf_counter() - started

    print(f"1,000 leaked tokens answered in {elapsed:.2f} s")
    assert response.status_code == 200
    assert {item["label"] for item in response.json()} == {"true_positive"}
    assert ReferenceToken.objects.revoked().count() == 1000
    assert TokenEvent.objects.filter(leak_source="github").count() == 1000
    [message] = mail.outbox  # one owner: one e-mail, naming all of them
    assert message.body.count(LEAK) == 1000
    assert elapsed < 10
