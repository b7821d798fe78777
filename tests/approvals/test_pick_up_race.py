"""Concurrent pick-ups of one approved request (a double click, two tabs) make one token."""

from __future__ import annotations

from approvals import domain
from approvals.models import RequestState, TokenRequest
from tokens.models import ReferenceToken


def test_concurrent_pick_ups_make_one_token(race, alice, admin_user, vault_app, read_scope):
    token_request = domain.create_request(
        requester=alice, application=vault_app, scopes=[read_scope], lifetime_days=5, reason="x"
    )
    domain.approve(token_request, by=admin_user)

    def attempt(i: int) -> str:
        try:
            domain.pick_up(TokenRequest.objects.get(pk=token_request.pk), by=alice)
        except domain.RequestRefused as refused:
            return f"refused {refused.status}"
        return "issued"

    results = race(attempt)
    assert sorted(results).count("issued") == 1
    assert all(result in ("issued", "refused 409") for result in results)
    assert ReferenceToken.objects.count() == 1
    assert TokenRequest.objects.get().state == RequestState.PICKED_UP
