"""Token requests (issue 23, approval): request, decide, pick up once, through the test client."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.sudo import SESSION_KEY
from approvals.models import RequestState, TokenRequest
from tests.helpers import FORM, basic, stored_anywhere
from tokens.domain import lifecycle
from tokens.format import hash_token
from tokens.models import ReferenceToken

pytestmark = pytest.mark.django_db


def post(client, url, data=None, page=None):
    """POST with the CSRF token of `page` (or of `url`), as a browser does."""
    client.get(page or reverse("token_request_list"))
    data = {**(data or {}), "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    return client.post(url, data)


def request_form(client, app, scopes, days=10, reason="Nightly backup") -> dict:
    """The request form as a browser sends it, with the one-time key its page gave."""
    page = client.get(reverse("token_request_create"))
    return {
        "application": app.pk,
        "scopes": [scope.pk for scope in scopes],
        "lifetime_days": days,
        "reason": reason,
        "description": "backup",
        "form_key": page.context["form"].initial["form_key"],
    }


def request_token(client, app, scopes, days=10, reason="Nightly backup"):
    form = request_form(client, app, scopes, days, reason)
    return post(client, reverse("token_request_create"), form)


def decide(client, token_request, decision, reason=""):
    url = reverse("admin:approvals_tokenrequest_decide", args=[token_request.pk])
    return post(client, url, {"decision": decision, "reason": reason}, page=url)


def pick_up(client, token_request):
    return post(client, reverse("token_request_pick_up", args=[token_request.pk]))


def test_an_application_needing_approval_is_not_offered_for_direct_issuing(
    alice, vault_app, in_30_days
):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="given on request"):
        lifecycle.issue_personal(user=alice, application=vault_app, expires_at=in_30_days)


def test_request_approve_pick_up_once(
    alice_client, admin_client, admin_user, vault_app, read_scope, orders_api, caplog
):
    caplog.set_level(logging.DEBUG)
    response = request_token(alice_client, vault_app, [read_scope])
    assert response.status_code == 302
    token_request = TokenRequest.objects.get()
    assert token_request.state == RequestState.REQUESTED
    # The administrators are told.
    assert [m.to for m in mail.outbox] == [[admin_user.email]]
    assert "Nightly backup" in mail.outbox[0].body
    page = alice_client.get(reverse("token_request_list")).content.decode()
    assert "Waiting for approval" in page

    dashboard = admin_client.get(reverse("admin:index")).content.decode()
    assert "Token requests waiting for approval" in dashboard

    response = decide(admin_client, token_request, "approve")
    assert response.status_code == 302
    token_request.refresh_from_db()
    assert token_request.state == RequestState.APPROVED
    assert not ReferenceToken.objects.exists()  # nothing is minted at approval
    assert mail.outbox[-1].to == ["alice@example.com"]
    assert "approved" in mail.outbox[-1].subject

    page = alice_client.get(reverse("token_request_list")).content.decode()
    assert "Approved: get your token" in page
    response = pick_up(alice_client, token_request)
    assert response.status_code == 201
    assert (
        response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    )
    plaintext = re.search(r"data-copy-source>([^<]+)<", response.content.decode()).group(1)
    token = ReferenceToken.objects.get()
    assert token.token_hash == hash_token(plaintext)
    assert token.user.username == "alice"
    assert list(token.scopes.values_list("name", flat=True)) == ["read"]
    assert (token.expires_at - timezone.now()).days in (9, 10)

    # It works: the application's policy lets an approved request's token be held.
    answer = (
        Client()
        .post(
            "/connect/introspect",
            f"token={plaintext}",
            content_type=FORM,
            HTTP_AUTHORIZATION=basic(orders_api.client_id, orders_api.secret),
        )
        .json()
    )
    assert answer["active"] is True
    assert answer["username"] == "alice"

    # The plaintext is nowhere else: not in a row, an e-mail or a log line.
    assert stored_anywhere(plaintext) == []
    assert all(plaintext not in m.body for m in mail.outbox)
    assert plaintext not in caplog.text

    again = pick_up(alice_client, token_request)
    assert again.status_code == 409
    assert "picked up" in again.content.decode()
    assert ReferenceToken.objects.count() == 1


def test_denied_with_a_reason(alice_client, admin_client, vault_app, read_scope):
    request_token(alice_client, vault_app, [read_scope])
    token_request = TokenRequest.objects.get()
    response = decide(admin_client, token_request, "deny")
    assert response.status_code == 400
    assert "Say why" in response.content.decode()
    response = decide(admin_client, token_request, "deny", "Use the shared account")
    assert response.status_code == 302
    token_request.refresh_from_db()
    assert token_request.state == RequestState.DENIED
    assert "denied" in mail.outbox[-1].subject
    assert "Use the shared account" in mail.outbox[-1].body
    page = alice_client.get(reverse("token_request_list")).content.decode()
    assert "Use the shared account" in page
    assert pick_up(alice_client, token_request).status_code == 409
    assert not ReferenceToken.objects.exists()


def test_an_expired_request_cannot_be_approved_nor_picked_up(
    alice_client, admin_client, vault_app, read_scope
):
    request_token(alice_client, vault_app, [read_scope])
    token_request = TokenRequest.objects.get()
    decide(admin_client, token_request, "approve")
    TokenRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = pick_up(alice_client, token_request)
    assert response.status_code == 409
    assert "expired" in response.content.decode()
    assert not ReferenceToken.objects.exists()


def test_an_expired_request_cannot_be_decided(alice_client, admin_client, vault_app, read_scope):
    request_token(alice_client, vault_app, [read_scope])
    TokenRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    token_request = TokenRequest.objects.get()
    decide(admin_client, token_request, "approve")
    token_request.refresh_from_db()
    assert token_request.state == RequestState.REQUESTED
    assert token_request.current_state() == RequestState.EXPIRED


def test_someone_else_cannot_see_nor_pick_up_a_request(
    alice_client, bob_client, admin_client, vault_app, read_scope
):
    request_token(alice_client, vault_app, [read_scope])
    token_request = TokenRequest.objects.get()
    decide(admin_client, token_request, "approve")
    assert "Vault" not in bob_client.get(reverse("token_request_list")).content.decode()
    assert pick_up(bob_client, token_request).status_code == 404
    assert not ReferenceToken.objects.exists()


def test_only_instance_admins_decide(alice_client, bob_client, vault_app, read_scope):
    request_token(alice_client, vault_app, [read_scope])
    token_request = TokenRequest.objects.get()
    url = reverse("admin:approvals_tokenrequest_decide", args=[token_request.pk])
    # Not staff: the admin sends them to its sign-in page.
    assert bob_client.get(url).status_code == 302
    token_request.refresh_from_db()
    assert token_request.state == RequestState.REQUESTED


def test_picking_up_asks_for_the_password_past_sudo_mode(
    alice_client, admin_client, vault_app, read_scope
):
    request_token(alice_client, vault_app, [read_scope])
    token_request = TokenRequest.objects.get()
    decide(admin_client, token_request, "approve")
    session = alice_client.session
    session[SESSION_KEY] = 0
    session.save()
    response = pick_up(alice_client, token_request)
    assert response.status_code == 200
    assert "sudo_password" in response.content.decode()
    assert not ReferenceToken.objects.exists()


def test_a_request_is_refused_beyond_the_application_limits(
    alice_client, vault_app, read_scope, settings
):
    vault_app.max_token_lifetime_days = 30
    vault_app.save()
    response = request_token(alice_client, vault_app, [read_scope], days=31)
    assert response.status_code == 400
    assert "at most 30 days" in response.content.decode()
    response = request_token(alice_client, vault_app, [read_scope], reason="")
    assert response.status_code == 400
    assert not TokenRequest.objects.exists()


def test_without_the_csrf_token_nothing_is_requested(alice_client, vault_app, read_scope):
    response = alice_client.post(
        reverse("token_request_create"),
        {"application": vault_app.pk, "scopes": [read_scope.pk], "lifetime_days": 5, "reason": "x"},
    )
    assert response.status_code == 403
    assert not TokenRequest.objects.exists()


def test_admins_are_told_at_operations_email_when_none_has_an_address(
    alice_client, admin_user, vault_app, read_scope, settings
):
    settings.OPERATIONS_EMAIL = "ops@example.com"
    admin_user.email = ""
    admin_user.save()
    request_token(alice_client, vault_app, [read_scope])
    assert [m.to for m in mail.outbox] == [["ops@example.com"]]


def test_the_create_form_sends_to_the_request_form(alice_client, vault_app, sync_app):
    page = alice_client.get(reverse("token_create")).content.decode()
    link = f"{reverse('token_request_create')}?application={vault_app.pk}"
    assert f'href="{link}">Request a token for Vault' in page
    form = alice_client.get(link).content.decode()
    assert f'<option value="{vault_app.pk}" selected>' in form
    # Vault is not among the applications a token is created for directly.
    assert "com.example/vault" not in page.split('id="id_application"')[1].split("</select>")[0]


def test_a_pick_up_is_refused_when_the_application_was_disabled_meanwhile(
    alice_client, admin_client, vault_app, read_scope
):
    request_token(alice_client, vault_app, [read_scope])
    token_request = TokenRequest.objects.get()
    decide(admin_client, token_request, "approve")
    vault_app.is_enabled = False
    vault_app.save()
    response = pick_up(alice_client, token_request)
    assert response.status_code == 409
    assert "Vault is disabled" in response.content.decode()
    token_request.refresh_from_db()
    assert token_request.state == RequestState.APPROVED
    assert not ReferenceToken.objects.exists()


def test_a_request_form_sent_twice_makes_one_request(alice_client, vault_app, read_scope):
    form = request_form(alice_client, vault_app, [read_scope])
    first = post(alice_client, reverse("token_request_create"), form)
    again = post(alice_client, reverse("token_request_create"), form)

    assert first.status_code == again.status_code == 302
    assert TokenRequest.objects.count() == 1
    listing = alice_client.get(again["Location"]).content.decode()
    assert "That form was already sent" in listing


def test_a_request_form_without_its_key_requests_nothing(alice_client, vault_app, read_scope):
    form = request_form(alice_client, vault_app, [read_scope]) | {"form_key": "made-up"}
    response = post(alice_client, reverse("token_request_create"), form)

    assert response.status_code == 400
    assert "nothing was requested" in response.content.decode()
    assert not TokenRequest.objects.exists()
