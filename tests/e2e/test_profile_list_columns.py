"""The profile's token list at tablet width: its cards' columns line up from card to card
(issue 20, defect 20: "columns shift between cards at 768")."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from tests.e2e.browser import sign_in
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken


@pytest.mark.e2e
@pytest.mark.parametrize("width", [768, 1024])
def test_the_cards_columns_line_up_at_tablet_width(page: Page, alice, sync_app, width):
    for description in ("laptop sync", "a much longer description of the build server's token"):
        lifecycle.issue_personal(
            user=alice, application=sync_app, expires_at=expiry_in_days(30), description=description
        )
    revoked = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(7), description="old phone"
    )
    lifecycle.revoke_token(revoked.token, by=alice, reason="lost it")
    expired = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(7), description="expired one"
    )
    ReferenceToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now())

    sign_in(page, "alice")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/profile/security/tokens/?show=all")
    # Active rows have Rotate and Revoke, the others none: the columns must not follow that.
    lefts = page.evaluate(
        """() => [...document.querySelectorAll('.tokens tbody tr.token-row')].map(tr =>
             ['Expires', 'Last used', 'Status'].map(label =>
               Math.round(tr.querySelector(`td[data-label="${label}"]`).getBoundingClientRect().left)))"""
    )
    assert len(lefts) == 4
    assert all(row == lefts[0] for row in lefts), lefts
