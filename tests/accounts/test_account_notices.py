"""Account security notices (issue 21): each change to how one signs in is mailed to the person,
with the time and the address, and counted as an account event."""

from __future__ import annotations

from django.core import mail
from django.test import Client
from prometheus_client import REGISTRY

from tests.accounts.test_second_factor import enrol, second_step
from tests.helpers import PASSWORD


def count(event: str) -> float:
    return REGISTRY.get_sample_value("portal_account_events_total", {"event": event}) or 0.0


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def test_adding_an_authenticator_app_is_mailed_with_time_and_address(
    alice, django_capture_on_commit_callbacks
):
    before = count("account.mfa_added")
    # allauth announces a new factor once its transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        enrol(alice)
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert (
        message.subject == "Your portal account: an authenticator app was added as a second factor"
    )
    assert "From: 127.0.0.1" in message.body
    assert " UTC" in message.body
    assert "cannot be turned off" in message.body
    assert count("account.mfa_added") == before + 1


def test_a_used_recovery_code_and_new_codes_are_mailed(alice, django_capture_on_commit_callbacks):
    _, codes = enrol(alice)
    mail.outbox.clear()
    client, _ = second_step(codes[0])
    assert subjects() == [
        "Your portal account: a recovery code was used to sign in or confirm it is you"
    ]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/recovery-codes/generate/")
    assert response.status_code == 302
    assert subjects() == [
        "Your portal account: new recovery codes were made (the old ones no longer work)"
    ]


def test_removing_the_authenticator_app_is_mailed(alice, django_capture_on_commit_callbacks):
    enrol(alice)
    mail.outbox.clear()
    client = Client()
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/accounts/2fa/totp/deactivate/").status_code == 302
    assert "an authenticator app was removed from your second factors" in mail.outbox[0].body


def test_a_password_change_is_mailed(alice):
    client = Client(REMOTE_ADDR="192.0.2.8")
    client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    new = "another long passphrase 7"
    client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    [message] = mail.outbox
    assert "your password was changed" in message.body
    assert "From: 192.0.2.8" in message.body
    assert PASSWORD not in message.body and new not in message.body


def test_account_events_join_the_audit_trail_with_address_and_request_id(alice):
    from accounts.models import AccountEvent

    client = Client(REMOTE_ADDR="198.51.100.3")
    client.post("/accounts/login/", {"login": "alice", "password": "wrong"})
    client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    new = "another long passphrase 7"
    client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    events = list(AccountEvent.objects.filter(user=alice).order_by("at", "id"))
    assert [e.event for e in events] == [
        "account.signin_failed",
        "account.signed_in",
        "account.password_changed",
    ]
    assert {e.ip for e in events} == {"198.51.100.3"}
    assert all(len(e.request_id) == 32 for e in events)
    assert not any(new in e.detail or PASSWORD in e.detail for e in events)
    # Nobody's username makes no row.
    Client().post("/accounts/login/", {"login": "nobody", "password": "x"})
    assert AccountEvent.objects.count() == 3
