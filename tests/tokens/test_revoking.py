"""Revoking is instant, idempotent, and keeps the row for the audit trail."""

from tokens.domain import lifecycle
from tokens.domain.status import Inactive
from tokens.models import ReferenceToken, TokenEvent
from tokens.validation.checks import check_for_holder


def test_revoking_records_who_why_and_from_where(alice_token, alice):
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert (
        lifecycle.revoke_token(token, by=alice, reason="laptop stolen", ip="198.51.100.7") is True
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert (token.revoked_by, token.revocation_reason) == (alice, "laptop stolen")
    assert token.state.reason == Inactive.REVOKED
    event = token.events.get(action=TokenEvent.Action.REVOKED)
    assert (event.actor, event.detail, event.ip) == (alice, "laptop stolen", "198.51.100.7")


def test_a_revoked_token_is_inactive_at_once(alice_token, alice):
    assert check_for_holder(alice_token.plaintext) is not None
    lifecycle.revoke_token(alice_token.token, by=alice)
    assert check_for_holder(alice_token.plaintext) is None


def test_a_second_revoke_changes_and_records_nothing(alice_token, alice, admin_user):
    token = alice_token.token
    lifecycle.revoke_token(token, by=alice, reason="first")
    first = ReferenceToken.objects.values("revoked_at", "revoked_by", "revocation_reason").get(
        pk=token.pk
    )
    events = TokenEvent.objects.count()

    assert lifecycle.revoke_token(token, by=admin_user, reason="second") is False

    assert (
        ReferenceToken.objects.values("revoked_at", "revoked_by", "revocation_reason").get(
            pk=token.pk
        )
        == first
    )
    assert TokenEvent.objects.count() == events
    # The in-memory object shows the first revocation, not the refused second one.
    assert (token.revoked_by, token.revocation_reason) == (alice, "first")


def test_revoking_keeps_the_row_and_its_history(alice_token, alice):
    lifecycle.revoke_token(alice_token.token, by=alice)
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert list(token.events.order_by("at", "id").values_list("action", flat=True)) == [
        "issued",
        "revoked",
    ]


def test_a_queryset_revoke_skips_tokens_already_revoked(alice_token, sync_service_token, alice):
    lifecycle.revoke_token(alice_token.token, by=alice)
    revoked = lifecycle.revoke(ReferenceToken.objects.all(), by=None, reason="incident")
    assert [t.pk for t in revoked] == [sync_service_token.token.pk]
    assert TokenEvent.objects.filter(action="revoked").count() == 2


def test_a_long_reason_is_cut_to_fit(alice_token, alice):
    lifecycle.revoke_token(alice_token.token, by=alice, reason="x" * 500)
    assert alice_token.token.revocation_reason == "x" * 200


def test_instance_admins_may_revoke_any_token_and_people_only_through_their_own_list(
    alice, bob, admin_user, carol
):
    # The profile finds a person's tokens through personal_of(them); the admin asks this.
    assert admin_user.may_revoke_any_token
    # carol holds only the permission to issue service tokens: she may revoke what she issues.
    assert carol.may_revoke_any_token
    assert not alice.may_revoke_any_token
    assert not bob.may_revoke_any_token
