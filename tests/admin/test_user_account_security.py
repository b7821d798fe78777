"""A person's page in the admin (issue 21): their second factors and sessions; reset the
factors (sudo mode, audited, the person told by e-mail) and end every session."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail
from django.test import Client

from accounts.models import AccountEvent
from accounts.sudo import SESSION_KEY
from tests.helpers import PASSWORD, signed_in


def test_the_page_shows_factors_and_sessions(admin_user, alice):
    Client(REMOTE_ADDR="192.0.2.5").post(
        "/accounts/login/", {"login": "alice", "password": PASSWORD}
    )
    TOTP.activate(alice, generate_totp_secret())
    page = signed_in(admin_user).get(f"/admin/accounts/user/{alice.pk}/change/").content.decode()
    assert "Second factors: authenticator app." in page
    assert "192.0.2.5" in page
    assert "Reset second factors…" in page
    assert "End sessions…" in page


def test_resetting_second_factors_asks_sudo_mode_audits_and_tells_the_person(admin_user, alice):
    TOTP.activate(alice, generate_totp_secret())
    client = signed_in(admin_user)
    url = f"/admin/accounts/user/{alice.pk}/reset-second-factors/"
    assert client.get(url).status_code == 200

    session = client.session
    session[SESSION_KEY] -= 3600
    session.save()
    response = client.post(url)
    assert response.status_code == 200  # the password first
    assert Authenticator.objects.filter(user=alice).exists()

    response = client.post(url, {"sudo_password": PASSWORD})
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=alice).exists()
    assert AccountEvent.objects.filter(user=alice, event="account.mfa_reset").exists()
    [notice] = mail.outbox
    assert notice.to == ["alice@example.com"]
    assert "your second factors were reset by the administrator admin" in notice.body


def test_ending_every_session_signs_the_person_out(admin_user, alice):
    browser = Client()
    browser.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    assert browser.get("/profile/security/tokens/").status_code == 200
    url = f"/admin/accounts/user/{alice.pk}/end-sessions/"
    assert signed_in(admin_user).post(url).status_code == 302
    assert browser.get("/profile/security/tokens/").status_code == 302


def test_people_who_may_not_manage_the_user_cannot(alice, bob):
    bob.is_staff = True
    bob.save()
    url = f"/admin/accounts/user/{alice.pk}/reset-second-factors/"
    assert signed_in(bob).post(url).status_code in {403, 404}
