"""Password reset by e-mail from the sign-in page (django-allauth, issue 21): the same answer
whether or not an account has the address; the link in the message sets a new password and
signs out every session of the old one."""

from __future__ import annotations

import email
import re
import socket
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.test import Client

from tests.helpers import PASSWORD

RESET = "/accounts/password/reset/"
NEW_PASSWORD = "a brand new passphrase 42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An SMTP server's handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback, and the portal sending its mail there."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


def text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text part")


def test_the_sign_in_page_links_to_the_reset(db):
    response = Client().get("/accounts/login/")
    assert f'href="{RESET}"'.encode() in response.content


def test_a_reset_mail_through_a_real_smtp_server_sets_a_new_password(alice, smtp_server):
    elsewhere = Client()
    elsewhere.force_login(alice)

    response = Client().post(RESET, {"email": "alice@example.com"})
    assert response.status_code == 302
    [message] = smtp_server.messages
    assert message["X-Envelope-To"] == "alice@example.com"
    body = text_of(message)
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", body)[1]
    assert PASSWORD not in body

    browser = Client()
    form_page = browser.get(link, follow=True)
    assert form_page.status_code == 200
    action = form_page.redirect_chain[-1][0]
    done = browser.post(action, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302

    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    # The other browser, signed in with the old password, is signed out.
    assert elsewhere.get("/profile/security/tokens/").status_code == 302
    # The link works once.
    again = Client().get(link, follow=True)
    assert b"invalid" in again.content.lower()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(alice):
    known = Client().post(RESET, {"email": "alice@example.com"})
    unknown = Client().post(RESET, {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    done_known = Client().get(known["Location"]).content
    assert b"alice" not in done_known


def test_changing_the_password_signs_out_the_other_sessions_but_not_this_one(alice):
    here = Client()
    here.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    elsewhere = Client()
    elsewhere.post("/accounts/login/", {"login": "alice", "password": PASSWORD})

    page = here.get("/accounts/password/change/")
    assert page.status_code == 200
    assert b"portal.css" in page.content
    response = here.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert here.get("/profile/security/tokens/").status_code == 200
    assert elsewhere.get("/profile/security/tokens/").status_code == 302


def test_a_wrong_current_password_changes_nothing(alice):
    client = Client()
    client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
