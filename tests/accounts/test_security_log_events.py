"""Profile → Security → Security log (issue 21) shows a password reset and a recovery code used
to sign in, with the address they came from, and /metrics counts each by name."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client

from tests.accounts.test_second_factor import enrol, second_step
from tests.helpers import signed_in

NEW_PASSWORD = "a brand new passphrase 42"


def scraped(event: str) -> float:
    """The count /metrics shows for `event` (0 before its first time)."""
    text = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    found = re.search(
        rf'^portal_account_events_total\{{event="{re.escape(event)}"\}} (\S+)$', text, re.M
    )
    return float(found[1]) if found else 0.0


def security_log(user) -> str:
    return signed_in(user).get("/profile/security/log/").content.decode()


def test_a_password_reset_is_in_the_security_log_and_counted(alice):
    before = scraped("account.password_reset")
    client = Client(REMOTE_ADDR="192.0.2.41")
    client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    [message] = mail.outbox
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", message.body)[1]
    form = client.get(link, follow=True)
    action = form.redirect_chain[-1][0]
    done = client.post(action, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302

    assert scraped("account.password_reset") == before + 1
    alice.refresh_from_db()  # the new password's hash, or the session made below is refused
    log = security_log(alice)
    assert "account.password_reset" in log
    row = log[log.index("account.password_reset") :].split("</tr>")[0]
    assert "192.0.2.41" in row
    assert NEW_PASSWORD not in log


def test_a_recovery_code_used_to_sign_in_is_in_the_security_log_and_counted(alice):
    _, codes = enrol(alice)
    before = scraped("account.recovery_code_used")
    client, response = second_step(codes[0])
    assert response.status_code == 302

    assert scraped("account.recovery_code_used") == before + 1
    log = client.get("/profile/security/log/").content.decode()
    assert "account.recovery_code_used" in log
    assert codes[0] not in log
