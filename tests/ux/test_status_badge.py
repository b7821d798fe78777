"""One status badge, both consoles (issue 20, defect 12): the profile's list, a token's page, the
admin's list and an application's page show a status as the same badge, from the status rule."""

import re

from tests.helpers import signed_in
from tokens.domain import lifecycle

BADGE = re.compile(r'<span class="label label--(\w+)"[^>]*>([^<]+)</span>')


def badges(html: str) -> set[tuple[str, str]]:
    return set(BADGE.findall(html))


def test_the_admin_list_shows_statuses_as_the_profiles_badges(
    admin_user, alice, alice_token, sync_app, in_30_days
):
    revoked = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=in_30_days, description="old"
    ).token
    lifecycle.revoke_token(revoked, by=admin_user, reason="lost")
    admin_list = signed_in(admin_user).get("/admin/tokens/referencetoken/").content.decode()
    profile = signed_in(alice).get("/profile/security/tokens/?show=all").content.decode()
    expected = {("active", "Active"), ("revoked", "Revoked")}
    assert expected <= badges(admin_list)
    assert expected <= badges(profile)


def test_an_applications_and_a_tokens_admin_page_use_the_badge(admin_user, alice_token, sync_app):
    client = signed_in(admin_user)
    app_page = client.get(f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/")
    token_page = client.get(f"/admin/tokens/referencetoken/{alice_token.token.pk}/change/")
    assert ("active", "Active") in badges(app_page.content.decode())
    assert ("active", "Active") in badges(token_page.content.decode())
