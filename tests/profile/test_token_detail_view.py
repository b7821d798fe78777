"""Profile → a token: its facts and its own audit events; bob never sees alice's."""

from datetime import timedelta

from django.utils import timezone

from tokens.domain import lifecycle
from tokens.models import ReferenceToken, TokenEvent


def detail_url(token) -> str:
    return f"/profile/security/tokens/{token.pk}/"


def test_it_shows_the_facts_and_the_events_of_the_token(alice_client, alice_token, admin_user):
    token = alice_token.token
    now = timezone.now()
    ReferenceToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip="198.51.100.4")
    lifecycle.revoke_token(token, by=admin_user, reason="leaked", ip="192.0.2.1")

    response = alice_client.get(detail_url(token))

    assert response.status_code == 200
    page = response.content.decode()
    assert token.masked in page and "laptop sync" in page and "Sync" in page
    assert "198.51.100.4" in page  # where it was last used from
    assert "Revoked: leaked" in page and "192.0.2.1" in page
    assert "by admin: “leaked" in page
    assert [e.action for e in response.context["events"]] == ["revoked", "issued"]
    assert alice_token.plaintext not in page


def test_a_rotated_token_links_to_its_replacement_and_back(alice_client, alice_token, alice):
    old = alice_token.token
    new = lifecycle.rotate(old, by=alice).token

    old_page = alice_client.get(detail_url(old)).content.decode()
    new_page = alice_client.get(detail_url(new)).content.decode()

    assert f'href="/profile/security/tokens/{new.pk}/"' in old_page
    assert f"Rotated: replaced by {new.masked}" in old_page
    assert f'href="/profile/security/tokens/{old.pk}/"' in new_page
    assert f"Created by rotating {old.masked}" in new_page


def test_the_audit_table_is_newest_first_by_time_the_last_use_included(
    alice_client, alice_token, admin_user
):
    # Issued at 13:00, used at 13:59, revoked at 14:00: newest first, the use in between.
    token = alice_token.token
    lifecycle.revoke_token(token, by=admin_user, reason="leaked")
    revoked_at = ReferenceToken.objects.get().revoked_at
    ReferenceToken.objects.update(last_used_at=revoked_at - timedelta(minutes=1))
    TokenEvent.objects.filter(action="issued").update(at=revoked_at - timedelta(hours=1))

    response = alice_client.get(detail_url(token))

    page = response.content.decode()
    rows = [page.index(f'class="event event--{kind}"') for kind in ("revoked", "used", "issued")]
    assert rows == sorted(rows)
    assert [row.action for row in response.context["timeline"]] == ["revoked", "used", "issued"]


def test_a_use_after_the_last_event_is_the_newest_row(alice_client, alice_token):
    ReferenceToken.objects.update(last_used_at=timezone.now() + timedelta(minutes=1))

    response = alice_client.get(detail_url(alice_token.token))

    assert [row.action for row in response.context["timeline"]] == ["used", "issued"]


def test_the_page_costs_the_same_queries_whatever_the_events(
    alice_client, alice_token, alice, django_assert_max_num_queries
):
    for _ in range(5):
        alice_token = lifecycle.rotate(alice_token.token, by=alice)
    with django_assert_max_num_queries(8):
        response = alice_client.get(detail_url(alice_token.token))

    # The page itself, not a cheaper refusal: the token and the rotation that made it.
    assert response.status_code == 200
    assert alice_token.token.masked in response.content.decode()
    assert [row.action for row in response.context["timeline"]] == ["rotated"]


def test_another_persons_token_is_not_found(bob_client, alice_token):
    assert bob_client.get(detail_url(alice_token.token)).status_code == 404


def test_a_service_token_is_not_found_in_the_profile(alice_client, sync_service_token):
    assert alice_client.get(detail_url(sync_service_token.token)).status_code == 404


def test_the_row_links_to_the_page(alice_client, alice_token):
    response = alice_client.get("/profile/security/tokens/")
    assert f'href="{detail_url(alice_token.token)}"'.encode() in response.content


def test_the_page_offers_revoke_while_the_token_can_still_be_revoked(
    alice_client, alice_token, alice
):
    # Issue 20, defect 9: Rotate and Revoke both, on the token's own page.
    revoke = f'href="/profile/security/tokens/{alice_token.token.pk}/revoke/"'
    page = alice_client.get(detail_url(alice_token.token)).content.decode()
    assert revoke in page and ">Revoke…</a>" in page
    lifecycle.revoke_token(alice_token.token, by=alice)
    assert revoke not in alice_client.get(detail_url(alice_token.token)).content.decode()


def test_a_revoked_or_replaced_token_says_so_without_an_expiry_countdown(
    alice_client, alice_token, alice
):
    # Issue 20, defect 18: no "(expires in 4 weeks)" once revoked; a replaced token links to
    # its replacement instead of quoting "rotated".
    new = lifecycle.rotate(alice_token.token, by=alice).token
    page = alice_client.get(detail_url(alice_token.token)).content.decode()
    assert "Expires in" not in page and "expires in" not in page
    assert "“rotated”" not in page and ": rotated" not in page
    listed = alice_client.get("/profile/security/tokens/?show=all").content.decode()
    assert f'Replaced on {alice_token.token.created_at:%-d %b %Y} by <a href="' in listed
    assert f'/profile/security/tokens/{new.pk}/">{new.masked}</a>' in listed
    assert "“rotated”" not in listed
