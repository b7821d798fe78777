"""Profile → an expired or revoked token → Renew: a new token with the same settings, shown
once; the old one stays as it was, and the new one's "issued" event says what it renews."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken, TokenEvent


def renew_url(token) -> str:
    return f"/profile/security/tokens/{token.pk}/renew/"


def renew(client, token):
    form_key = client.get(renew_url(token)).context["form_key"]
    return client.post(renew_url(token), {"form_key": form_key})


@pytest.fixture
def expired(alice_token):
    # Made 31 days ago for 30 days: expired yesterday.
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        created_at=timezone.now() - timedelta(days=31), expires_at=expiry_in_days(-1)
    )
    alice_token.token.refresh_from_db()
    return alice_token.token


def test_an_expired_token_is_renewed_with_the_same_settings(alice_client, expired, alice):
    page = alice_client.get(renew_url(expired)).content.decode()
    assert f"{expiry_in_days(30):%-d %b %Y}, 00:00 UTC" in page

    response = renew(alice_client, expired)
    assert response.status_code == 201
    assert (
        response["Cache-Control"].startswith("no-store")
        or "no-store" in (response["Cache-Control"])
    )
    assert f'It renews <code class="hint">{expired.masked}</code>' in response.content.decode()
    new = ReferenceToken.objects.exclude(pk=expired.pk).get()
    assert (new.application, new.description, new.user) == (
        expired.application,
        expired.description,
        alice,
    )
    assert set(new.scopes.all()) == set(expired.scopes.all())
    # Its lifetime is the old one's, stopping at 00:00 UTC.
    assert new.expires_at == expiry_in_days(30)
    event = TokenEvent.objects.get(token=new)
    assert (event.action, event.detail) == (
        TokenEvent.Action.ISSUED,
        f"Renewal of {expired.masked}",
    )
    expired.refresh_from_db()
    assert expired.state.code == "expired"


def test_a_revoked_token_is_renewed_and_stays_revoked(alice_client, alice_token, alice):
    lifecycle.revoke_token(alice_token.token, by=alice, reason="lost")
    assert renew(alice_client, alice_token.token).status_code == 201
    alice_token.token.refresh_from_db()
    assert alice_token.token.state.code == "revoked"
    assert ReferenceToken.objects.count() == 2


def test_a_working_token_is_not_renewed(alice_client, alice_token):
    page = alice_client.get(renew_url(alice_token.token)).content.decode()
    assert "cannot be renewed" in page and "rotate a working one" in page
    response = renew(alice_client, alice_token.token)
    assert response.status_code == 302
    assert ReferenceToken.objects.count() == 1


def test_sending_the_form_again_makes_no_second_token(alice_client, expired):
    form_key = alice_client.get(renew_url(expired)).context["form_key"]
    assert alice_client.post(renew_url(expired), {"form_key": form_key}).status_code == 201
    again = alice_client.post(renew_url(expired), {"form_key": form_key})
    assert again.status_code == 302
    assert ReferenceToken.objects.count() == 2


def test_another_persons_token_is_not_found(bob_client, expired):
    assert bob_client.get(renew_url(expired)).status_code == 404
    assert bob_client.post(renew_url(expired)).status_code == 404


def test_the_list_offers_renew_only_for_expired_or_revoked_tokens(alice_client, expired):
    page = alice_client.get("/profile/security/tokens/?show=all").content.decode()
    assert f'href="{renew_url(expired)}"' in page
    ReferenceToken.objects.filter(pk=expired.pk).update(expires_at=expiry_in_days(3))
    page = alice_client.get("/profile/security/tokens/?show=all").content.decode()
    assert "Renew…" not in page
