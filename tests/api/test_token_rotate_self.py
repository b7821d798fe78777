"""POST /api/tokens/self/rotate: a script rotates its own token, without a person."""

import pytest
from django.utils import timezone

from tests.helpers import FORM
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.format import make_token
from tokens.models import ROTATED, ReferenceToken, TokenEvent

URL = "/api/tokens/self/rotate"


def rotate(client, token: str, body: str = "", content_type: str = FORM, **headers):
    return client.post(
        URL, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}", **headers
    )


def test_a_token_rotates_itself(client, alice_token):
    response = rotate(client, alice_token.plaintext, REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    answer = response.json()
    new = ReferenceToken.objects.matching(answer["token"]).get()
    old = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert answer == {
        "token": answer["token"],
        "token_type": "Bearer",
        "token_kind": "personal",
        "application": "com.example/sync",
        "scopes": ["read", "update"],
        "expires_at": new.expires_at.isoformat().replace("+00:00", "Z"),
        "jti": str(new.pk),
        "rotated_from": str(old.pk),
    }
    assert old.revocation_reason == ROTATED and old.revoked_by is None
    event = TokenEvent.objects.get(action="rotated")
    assert (event.actor, event.ip, event.new_token) == (None, "203.0.113.9", new)


def test_the_new_token_works_and_the_old_one_does_not(client, alice_token):
    new = rotate(client, alice_token.plaintext).json()["token"]
    assert client.get("/api/tokens/self", HTTP_X_API_KEY=new).status_code == 200
    assert client.get("/api/tokens/self", HTTP_X_API_KEY=alice_token.plaintext).status_code == 401


def test_x_api_key_works_too(client, alice_token):
    response = client.post(URL, "", content_type=FORM, HTTP_X_API_KEY=alice_token.plaintext)
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("expires_in_days=5", FORM), ('{"expires_in_days": 5}', "application/json")],
)
def test_a_lifetime_may_be_chosen(client, alice_token, body, content_type):
    answer = rotate(client, alice_token.plaintext, body, content_type).json()
    new = ReferenceToken.objects.get(pk=answer["jti"])
    assert new.expires_at == expiry_in_days(5)


def test_the_replacement_stops_at_midnight_utc_to_the_second(client, alice_token):
    # alice's token was issued at an odd moment, 30 days ahead; its replacement keeps 30 days
    # and stops at 00:00:00 UTC, as pages, notices and the README say (not 00:00:00.32).
    answer = rotate(client, alice_token.plaintext).json()

    assert answer["expires_at"] == expiry_in_days(30).strftime("%Y-%m-%dT00:00:00Z")
    assert ReferenceToken.objects.get(pk=answer["jti"]).expires_at == expiry_in_days(30)


def test_a_one_day_token_cannot_become_a_year_token(client, alice, sync_app):
    # Whoever sees a one-day token in transit must not turn it into a year-long credential.
    token = lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(1))

    response = rotate(client, token.plaintext, "expires_in_days=365")

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"A rotation never outlives the token it replaces: "
        f"{token.token.masked} was given 1 day, so its replacement may have at most 1.",
    }
    assert ReferenceToken.objects.get().revoked_at is None


def test_rotation_after_rotation_never_lengthens_the_lifetime(client, alice, sync_app):
    token = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(2)
    ).plaintext
    for _ in range(3):
        answer = rotate(client, token).json()
        token = answer["token"]
        assert ReferenceToken.objects.get(pk=answer["jti"]).expires_at == expiry_in_days(2)
    assert rotate(client, token, "expires_in_days=3").status_code == 400


def test_an_application_that_turned_self_rotation_off_answers_403(client, alice_token, sync_app):
    sync_app.holders_may_rotate = False
    sync_app.save()

    response = rotate(client, alice_token.plaintext)

    assert response.status_code == 403
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "error": "self_rotation_disabled",
        "error_description": "Sync does not let its tokens rotate themselves: a person can "
        "rotate this one in the portal.",
    }
    assert ReferenceToken.objects.get().revoked_at is None
    assert not TokenEvent.objects.filter(action="rotated").exists()


@pytest.mark.parametrize("days", ["0", "-1", "x", "1.5", "99999999"])
def test_a_bad_lifetime_is_a_400_and_changes_nothing(client, alice_token, days):
    response = rotate(client, alice_token.plaintext, f"expires_in_days={days}")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert ReferenceToken.objects.get().revoked_at is None


def test_a_lifetime_beyond_the_applications_longest_is_a_400(client, alice_token):
    response = rotate(client, alice_token.plaintext, "expires_in_days=400")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Sync allows tokens of at most 365 days.",
    }


@pytest.mark.parametrize("change", ["revoked", "expired", "suspended", "rotated"])
def test_a_token_that_is_not_live_is_a_400_invalid_token(client, alice_token, alice, change):
    if change == "revoked":
        lifecycle.revoke_token(alice_token.token, by=alice)
    elif change == "expired":
        ReferenceToken.objects.update(expires_at=timezone.now())
    elif change == "suspended":
        alice.is_active = False
        alice.save()
    else:
        rotate(client, alice_token.plaintext)
    count = ReferenceToken.objects.count()

    response = rotate(client, alice_token.plaintext)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_token"
    assert "cannot be rotated" in response.json()["error_description"]
    assert ReferenceToken.objects.count() == count


@pytest.mark.parametrize("token", [make_token(), "enrt_not-a-token", ""])
def test_an_unknown_or_missing_token_is_a_401(client, db, token):
    response = rotate(client, token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="token-portal"')


def test_a_token_in_the_query_string_is_refused(client, alice_token):
    response = client.post(f"{URL}?access_token={alice_token.plaintext}", "", content_type=FORM)
    assert response.status_code == 400
    assert ReferenceToken.objects.get().revoked_at is None


def test_get_is_not_allowed(client, alice_token):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {alice_token.plaintext}")
    assert response.status_code == 405


def test_the_new_token_is_in_no_row_event_or_log(client, alice_token, caplog):
    new = rotate(client, alice_token.plaintext).json()["token"]
    from tests.helpers import stored_anywhere

    assert stored_anywhere(new) == []
    assert new not in caplog.text
