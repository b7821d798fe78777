"""Profile → Security's new pages (issue 21): in the portal's frame, beside Tokens, with no inline
code (the Content-Security-Policy allows none)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.helpers import PASSWORD, signed_in
from tests.test_content_security_policy import INLINE

PAGES = [
    "/accounts/2fa/",
    "/accounts/2fa/totp/activate/",
    "/accounts/2fa/webauthn/add/",
    "/accounts/2fa/webauthn/",
    "/accounts/password/change/",
    "/accounts/sessions/",
    "/profile/security/log/",
]
SIGNED_OUT_PAGES = ["/accounts/login/", "/accounts/password/reset/"]


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_a_profile_page_without_inline_code(alice, path):
    response = signed_in(alice).get(path)
    assert response.status_code == 200, path
    page = response.content.decode()
    assert INLINE.findall(page) == []
    assert 'class="profile__nav"' in page
    assert "Personal access tokens</a>" in page


@pytest.mark.parametrize("path", SIGNED_OUT_PAGES)
def test_the_signed_out_pages_have_no_inline_code(db, path):
    response = Client().get(path)
    assert response.status_code == 200
    assert INLINE.findall(response.content.decode()) == []


def test_signed_out_people_are_sent_to_sign_in(db):
    for path in PAGES:
        assert Client().get(path)["Location"].startswith("/accounts/login/?next="), path


def test_the_security_log_lists_one_s_own_events_newest_first(alice, bob):
    client = Client(REMOTE_ADDR="192.0.2.77")
    client.post("/accounts/login/", {"login": "alice", "password": "wrong"})
    client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    signed_in(bob)  # bob's events are bob's
    page = client.get("/profile/security/log/").content.decode()
    assert page.index("account.signed_in") < page.index("account.signin_failed")
    assert "192.0.2.77" in page
    assert page.count("<tr>") == 3  # the head and alice's two


def test_the_pages_of_a_person_with_second_factors_are_profile_pages(alice):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(alice, generate_totp_secret())
    RecoveryCodes.activate(alice)
    key = Authenticator.objects.create(
        user=alice, type=Authenticator.Type.WEBAUTHN, data={"name": "Laptop key"}
    )
    client = signed_in(alice)
    for path in [
        "/accounts/2fa/totp/deactivate/",
        "/accounts/2fa/recovery-codes/",
        "/accounts/2fa/recovery-codes/generate/",
        "/accounts/2fa/webauthn/",
        f"/accounts/2fa/webauthn/keys/{key.pk}/edit/",
        f"/accounts/2fa/webauthn/keys/{key.pk}/remove/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.content.decode()
        assert 'class="profile__nav"' in page, path
        assert INLINE.findall(page) == [], path


def test_the_security_log_shows_one_s_token_events_too(alice_token):
    page = signed_in(alice_token.token.user).get("/profile/security/log/").content.decode()
    assert "token.issued" in page
    assert alice_token.token.masked in page
