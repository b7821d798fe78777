"""GitLab's Token Revocation API, served here: /api/leaks/gitlab/v1/...

A GitLab instance is configured with the two URLs and a pre-shared secret an admin made in the
portal (tests/admin/test_leak_reporter_admin.py); it sends the secret as the whole
`Authorization` header.
"""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests.helpers import active, cached_and_active, eventually
from tokens.format import make_token
from tokens.leaks.models import LeakReporter
from tokens.models import ReferenceToken, TokenEvent

TYPES = "/api/leaks/gitlab/v1/revocable_token_types"
REVOKE = "/api/leaks/gitlab/v1/revoke_tokens"
TYPE = "gitleaks_rule_id_enrt_reference_token"
WHERE = "https://gitlab.example.com/group/project/-/blob/abc123/config.yml"


@pytest.fixture
def gitlab(db) -> tuple[LeakReporter, str]:
    """gitlab.example.com, whose admin pasted the portal's secret into its settings."""
    reporter = LeakReporter(name="gitlab.example.com")
    secret = reporter.set_secret()
    reporter.save()
    return reporter, secret


def report(client, secret: str | None, items: object, *, bearer: bool = False):
    headers = {}
    if secret is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}" if bearer else secret
    body = items if isinstance(items, bytes) else json.dumps(items).encode()
    return client.generic("POST", REVOKE, body, content_type="application/json", **headers)


def item(token: str, location: str = WHERE) -> dict:
    return {"type": TYPE, "token": token, "location": location}


def test_it_lists_the_type_it_revokes(client, gitlab):
    response = client.get(TYPES, HTTP_AUTHORIZATION=gitlab[1])

    assert response.status_code == 200
    assert response.json() == {"types": [TYPE]}
    assert response["Cache-Control"] == "no-store"


def test_a_report_revokes_our_token_with_source_and_location(
    client, gitlab, alice_token, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = report(client, gitlab[1], [item(alice_token.plaintext), item(make_token())])

    assert response.status_code == 204
    assert response.content == b""
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.revocation_reason == "leaked"
    event = token.events.get(action="revoked")
    assert (event.leak_source, event.leak_url) == ("gitlab", WHERE)
    [message] = mail.outbox
    assert WHERE in message.body


def test_bearer_scheme_works_too(client, gitlab, alice_token):
    response = report(client, gitlab[1], [item(alice_token.plaintext)], bearer=True)

    assert response.status_code == 204
    assert ReferenceToken.objects.revoked().count() == 1


def test_a_repeated_report_is_idempotent_and_sends_one_e_mail(
    client, gitlab, alice_token, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert report(client, gitlab[1], [item(alice_token.plaintext)]).status_code == 204

    assert len(mail.outbox) == 1
    assert TokenEvent.objects.filter(action="revoked").count() == 1


@pytest.mark.parametrize("secret", [None, "", "not-the-secret", "Bearer ", "x" * 5000])
def test_a_wrong_or_missing_secret_is_401_and_revokes_nothing(client, gitlab, alice_token, secret):
    response = report(client, secret, [item(alice_token.plaintext)])

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not ReferenceToken.objects.revoked().exists()
    assert client.get(TYPES, HTTP_AUTHORIZATION=secret or "").status_code == 401


def test_a_disabled_reporter_is_401(client, gitlab, alice_token):
    LeakReporter.objects.update(is_enabled=False)

    assert report(client, gitlab[1], [item(alice_token.plaintext)]).status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "The body is not valid JSON."),
        ({"token": "x"}, "The body must be a JSON array of {type, token, location} objects."),
        ([{"type": TYPE}], "Item 0 is not an object with a string token."),
        (["a token"], "Item 0 is not an object with a string token."),
        ([{"type": "aws_key_id", "token": "x"}], "Item 0 has a type this API does not revoke"),
        ([{"type": TYPE, "token": "x", "location": 5}], "Item 0 has a location"),
        (b"[" * 5000, "The JSON body nests too deeply."),
    ],
)
def test_a_malformed_body_is_400_and_revokes_nothing(client, gitlab, alice_token, body, message):
    if isinstance(body, list) and body and isinstance(body[0], dict) and "token" in body[0]:
        body = [*body, item(alice_token.plaintext)]
    response = report(client, gitlab[1], body)

    assert response.status_code == 400
    assert message in response.json()["error_description"]
    assert not ReferenceToken.objects.revoked().exists()


def test_an_odd_location_never_stops_the_revocation(client, gitlab, alice_token):
    response = report(client, gitlab[1], [item(alice_token.plaintext, "javascript:alert(1)")])

    assert response.status_code == 204
    assert TokenEvent.objects.get(action="revoked").leak_url == ""


def test_past_the_rate_limit_it_answers_429(client, gitlab, settings, alice_token):
    settings.LEAKS_RATE_LIMIT_PER_MINUTE = 3
    answers = [report(client, gitlab[1], [item(make_token())]).status_code for _ in range(3)]
    limited = report(client, gitlab[1], [item(alice_token.plaintext)])

    assert answers == [204, 204, 204]
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"
    assert not ReferenceToken.objects.revoked().exists()
    # Each reporter has its own window: another GitLab is not held back.
    other = LeakReporter(name="other")
    other_secret = other.set_secret()
    other.save()
    assert report(client, other_secret, [item(alice_token.plaintext)]).status_code == 204


def test_the_window_opens_again_the_next_minute(gitlab, settings):
    settings.LEAKS_RATE_LIMIT_PER_MINUTE = 1
    reporter = gitlab[0]
    now = timezone.now().replace(second=30)
    assert reporter.take_request(now) is True
    assert reporter.take_request(now) is False
    assert reporter.take_request(now + timedelta(minutes=1)) is True


def test_wrong_methods_are_405(client, gitlab):
    assert client.post(TYPES, HTTP_AUTHORIZATION=gitlab[1]).status_code == 405
    assert client.get(REVOKE, HTTP_AUTHORIZATION=gitlab[1]).status_code == 405


def test_a_second_worker_s_cache_sees_the_revocation(
    worker, client, gitlab, alice_token, orders_api
):
    # PostgreSQL only (the `listening` fixture): the revocation is announced to every worker.
    cached_and_active(worker, alice_token.plaintext, orders_api)

    assert report(client, gitlab[1], [item(alice_token.plaintext)]).status_code == 204

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))
