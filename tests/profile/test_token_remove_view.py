"""Profile → an expired or revoked token → Remove from list: hidden from its owner's list,
kept for the audit (its row, its events, its page, the admin)."""

from tokens.domain import lifecycle
from tokens.models import ReferenceToken, TokenEvent

LIST = "/profile/security/tokens/?show=all"


def remove_url(token) -> str:
    return f"/profile/security/tokens/{token.pk}/remove/"


def test_a_revoked_token_leaves_the_list_and_stays_for_the_audit(alice_client, alice_token, alice):
    token = alice_token.token
    lifecycle.revoke_token(token, by=alice, reason="lost")
    assert token.masked in alice_client.get(LIST).content.decode()

    response = alice_client.post(remove_url(token), follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Removed “laptop sync”" in body and "kept in your security log" in body
    assert f'id="token-{token.pk}"' not in body
    token.refresh_from_db()
    assert token.removed_from_list_at is not None
    assert TokenEvent.objects.filter(token=token).exists()
    # Its page stays, for its history.
    assert alice_client.get(f"/profile/security/tokens/{token.pk}/").status_code == 200


def test_a_working_token_is_not_removed(alice_client, alice_token):
    response = alice_client.post(remove_url(alice_token.token), follow=True)
    assert "still works: revoke it first" in response.content.decode()
    assert ReferenceToken.objects.get().removed_from_list_at is None


def test_another_persons_token_is_not_found(bob_client, alice_token, alice):
    lifecycle.revoke_token(alice_token.token, by=alice)
    assert bob_client.post(remove_url(alice_token.token)).status_code == 404
    assert ReferenceToken.objects.get().removed_from_list_at is None


def test_get_changes_nothing(alice_client, alice_token, alice):
    lifecycle.revoke_token(alice_token.token, by=alice)
    assert alice_client.get(remove_url(alice_token.token)).status_code == 405
