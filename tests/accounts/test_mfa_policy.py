"""MFA_REQUIRED and MFA_GRACE_DAYS (issue 21): a banner while the grace period runs; after it, no
new token (personal, rotated, or an admin's service token) until a second factor is added."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone

from accounts.models import User
from tests.admin.test_create_service_token import issue
from tests.helpers import signed_in
from tokens.models import ReferenceToken

CREATE = "/profile/security/tokens/new/"


@pytest.fixture
def create_form(sync_app, read_scope):
    def make(client) -> dict:
        return {
            "application": str(sync_app.pk),
            "description": "ci",
            "expires_at": (timezone.now() + timedelta(days=10)).date().isoformat(),
            "scopes": [str(read_scope.pk)],
            "form_key": client.get(CREATE).context["form"].initial["form_key"],
        }

    return make


def past_grace(user: User) -> None:
    User.objects.filter(pk=user.pk).update(mfa_grace_started_at=timezone.now() - timedelta(days=15))


def test_by_default_nobody_is_asked(alice, create_form):
    client = signed_in(alice)
    page = client.get("/profile/security/tokens/").content.decode()
    assert "requires a second factor" not in page
    assert client.post(CREATE, create_form(client)).status_code == 201


def test_in_the_grace_period_a_banner_says_what_to_do_and_by_when(alice, settings, create_form):
    settings.MFA_REQUIRED = "everyone"
    client = signed_in(alice)
    page = client.get("/profile/security/tokens/").content.decode()
    deadline = (timezone.now() + timedelta(days=14)).strftime("%-d %b %Y")
    assert f"This portal requires a second factor from {deadline}" in page
    assert 'href="/accounts/2fa/"' in page
    # Tokens can still be made meanwhile.
    assert client.post(CREATE, create_form(client)).status_code == 201


def test_after_the_grace_period_no_token_is_created_and_the_page_says_why(
    alice, settings, create_form
):
    settings.MFA_REQUIRED = "everyone"
    client = signed_in(alice)
    client.get("/profile/security/tokens/")
    past_grace(alice)
    response = client.post(CREATE, create_form(client))
    assert response.status_code == 403
    assert b"requires a second factor" in response.content
    assert b"Your existing tokens keep working" in response.content
    assert ReferenceToken.objects.count() == 0

    TOTP.activate(alice, generate_totp_secret())
    assert client.post(CREATE, create_form(client)).status_code == 201
    assert (
        "requires a second factor" not in client.get("/profile/security/tokens/").content.decode()
    )


def test_rotating_is_refused_too_but_revoking_is_not(alice, alice_token, settings):
    settings.MFA_REQUIRED = "everyone"
    past_grace(alice)
    client = signed_in(alice)
    url = f"/profile/security/tokens/{alice_token.token.pk}"
    form_key = client.get(f"{url}/rotate/").context["form_key"]
    assert client.post(f"{url}/rotate/", {"form_key": form_key}).status_code == 403
    assert client.post(f"{url}/revoke/").status_code in {200, 302}
    alice_token.token.refresh_from_db()
    assert alice_token.token.revoked_at is not None


def test_admins_only_covers_staff_not_people(alice, admin_user, settings, sync_app, create_form):
    settings.MFA_REQUIRED = "admins"
    past_grace(alice)
    past_grace(admin_user)
    client = signed_in(alice)
    assert client.post(CREATE, create_form(client)).status_code == 201

    response = issue(signed_in(admin_user), sync_app)
    assert response.status_code == 403
    assert b"requires a second factor" in response.content
    assert not ReferenceToken.objects.filter(user=sync_app.system_user).exists()
