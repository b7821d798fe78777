"""Profile → a token's row → Rotate: a new token shown once, the old one revoked."""

import pytest

from tests.helpers import HTMX
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ROTATED, ReferenceToken


def rotate_url(issued) -> str:
    return f"/profile/security/tokens/{issued.token.pk}/rotate/"


def confirmation_form_key(client, issued) -> str:
    response = client.get(rotate_url(issued))
    assert response.status_code == 200
    return response.context["form_key"]


def test_the_confirmation_page_changes_nothing(alice_client, alice_token):
    response = alice_client.get(rotate_url(alice_token))
    assert response.status_code == 200
    assert b">Rotate</button>" in response.content
    assert ReferenceToken.objects.get().revoked_at is None


def test_with_htmx_the_confirmation_replaces_the_row(alice_client, alice_token):
    response = alice_client.get(rotate_url(alice_token), **HTMX)
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b"<tr")
    assert f'id="token-{alice_token.token.pk}"'.encode() in response.content
    assert b'method="post"' in response.content


def test_it_shows_the_new_token_once_and_revokes_the_old_one(alice_client, alice_token):
    form_key = confirmation_form_key(alice_client, alice_token)
    response = alice_client.post(rotate_url(alice_token), {"form_key": form_key})

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    plaintext = response.context["plaintext"]
    new = ReferenceToken.objects.matching(plaintext).get()
    assert plaintext.encode() in response.content
    assert b"Token rotated" in response.content
    assert new.rotated_from_id == alice_token.token.pk
    old = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert old.revocation_reason == ROTATED


def test_the_replacement_stops_at_midnight_utc_after_as_many_days(alice_client, alice_token):
    # alice's token was made at an odd moment for 30 days: its replacement gets 30 days from
    # today and stops at 00:00:00 UTC, as the page says, not at 00:00:25.
    form_key = confirmation_form_key(alice_client, alice_token)
    response = alice_client.post(rotate_url(alice_token), {"form_key": form_key})

    new = ReferenceToken.objects.matching(response.context["plaintext"]).get()
    assert new.expires_at == expiry_in_days(30)


def test_sending_the_form_again_makes_no_second_token(alice_client, alice_token):
    form_key = confirmation_form_key(alice_client, alice_token)
    alice_client.post(rotate_url(alice_token), {"form_key": form_key})
    response = alice_client.post(rotate_url(alice_token), {"form_key": form_key}, follow=True)

    assert b"That form was already used" in response.content
    assert ReferenceToken.objects.count() == 2


def test_a_revoked_token_is_refused_with_a_message(alice_client, alice_token, alice):
    form_key = confirmation_form_key(alice_client, alice_token)
    lifecycle.revoke_token(alice_token.token, by=alice)

    response = alice_client.post(rotate_url(alice_token), {"form_key": form_key}, follow=True)

    assert b"cannot be rotated. It is revoked." in response.content
    assert ReferenceToken.objects.count() == 1


def test_the_confirmation_page_of_an_expired_token_says_why_and_offers_no_button(
    alice_client, alice_token
):
    from django.utils import timezone

    ReferenceToken.objects.update(expires_at=timezone.now())
    response = alice_client.get(rotate_url(alice_token))
    assert b"It has expired." in response.content
    assert b">Rotate</button>" not in response.content


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_persons_token_is_not_found(bob_client, alice_token, method):
    response = getattr(bob_client, method)(rotate_url(alice_token))
    assert response.status_code == 404
    assert ReferenceToken.objects.get().revoked_at is None


def test_a_service_token_is_not_found_in_the_profile(alice_client, sync_service_token):
    assert alice_client.get(rotate_url(sync_service_token)).status_code == 404


def test_signed_out_people_are_sent_to_sign_in(client, alice_token):
    response = client.post(rotate_url(alice_token))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_confirmation_says_when_the_new_token_expires(alice_client, alice_token):
    # Issue 20, defect 8: not "a new expiry", but which one, at 00:00 UTC like the create form;
    # the old lifetime is the default, and shorter presets may be chosen, never longer ones.
    page = alice_client.get(rotate_url(alice_token)).content.decode()
    given = alice_token.token.lifetime_days
    assert given == 30
    expected = expiry_in_days(given)
    assert (
        f'value="30" checked> <span>30 days, as before (<span class="new-expiry">'
        f"{expected:%-d %b %Y}, 00:00 UTC</span>)"
    ) in page
    assert f'value="7"> <span>7 days (<span class="new-expiry">{expiry_in_days(7):%-d %b %Y}' in (
        page
    )
    assert 'value="60"' not in page
    assert "at most 30 days" in page


def test_a_shorter_lifetime_can_be_chosen_and_stops_at_midnight_utc(alice_client, alice_token):
    form_key = confirmation_form_key(alice_client, alice_token)
    response = alice_client.post(rotate_url(alice_token), {"form_key": form_key, "expires_in": "7"})
    assert response.status_code == 201
    new = ReferenceToken.objects.get(revoked_at__isnull=True)
    assert new.expires_at == expiry_in_days(7)
    assert (new.expires_at.hour, new.expires_at.minute, new.expires_at.second) == (0, 0, 0)


@pytest.mark.parametrize("days", ["31", "0"])
def test_a_lifetime_the_rotation_does_not_allow_is_refused(alice_client, alice_token, days):
    form_key = confirmation_form_key(alice_client, alice_token)
    response = alice_client.post(
        rotate_url(alice_token), {"form_key": form_key, "expires_in": days}, follow=True
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "never outlives the token it replaces" in text or "at least 1 day" in text
    assert ReferenceToken.objects.count() == 1
    assert ReferenceToken.objects.get().revoked_at is None
