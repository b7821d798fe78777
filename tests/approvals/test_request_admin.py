"""The admin's side of token requests (issue 23, approval): sudo mode, the audit, the count."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from accounts.sudo import SESSION_KEY
from approvals import domain
from approvals.models import RequestState, TokenRequest
from approvals.notices import admin_addresses

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(alice, vault_app, read_scope) -> TokenRequest:
    return domain.create_request(
        requester=alice, application=vault_app, scopes=[read_scope], lifetime_days=5, reason="x"
    )


def post_decision(client, token_request, data):
    url = reverse("admin:approvals_tokenrequest_decide", args=[token_request.pk])
    client.get(url)
    return client.post(url, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_deciding_asks_for_the_password_past_sudo_mode(admin_client, pending):
    session = admin_client.session
    session[SESSION_KEY] = 0
    session.save()
    response = post_decision(admin_client, pending, {"decision": "approve"})
    assert response.status_code == 200
    assert "sudo_password" in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == RequestState.REQUESTED


def test_a_decision_is_recorded_in_the_history(admin_client, admin_user, pending):
    post_decision(admin_client, pending, {"decision": "deny", "reason": "Not for this team"})
    entry = LogEntry.objects.get(object_id=str(pending.pk))
    assert entry.user == admin_user
    assert "Not for this team" in entry.get_change_message()


def test_the_list_shows_the_requests_to_instance_admins(admin_client, carol, pending):
    page = admin_client.get(reverse("admin:approvals_tokenrequest_changelist")).content.decode()
    assert "Approve or deny" in page
    assert "Waiting for approval" in page


def test_admins_told_are_superusers_and_staff_with_the_permission(admin_user, carol, bob):
    assert admin_addresses() == ["admin@example.com", "carol@example.com"]


def test_the_dashboard_counts_only_pending_requests(admin_client, pending, admin_user):
    domain.approve(pending, by=admin_user)
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Token requests waiting for approval" in page
    figure = page.split("Token requests waiting for approval")[0].rsplit('class="figure">', 1)[1]
    assert figure.startswith("0<")


def test_the_request_page_shows_it_read_only_with_the_way_to_decide(admin_client, pending):
    url = reverse("admin:approvals_tokenrequest_change", args=[pending.pk])
    page = admin_client.get(url).content.decode()
    assert "Approve or deny" in page
    assert "Waiting for approval" in page
    assert 'name="reason"' not in page  # the request itself is never edited


def test_people_who_are_not_instance_admins_get_no_list(bob, pending):
    from tests.helpers import grant, signed_in

    bob.is_staff = True
    bob.save()
    client = signed_in(grant(bob, "view_user"))
    assert client.get(reverse("admin:approvals_tokenrequest_changelist")).status_code == 403


def test_the_e_mails_link_to_the_portal_where_it_knows_its_address(
    alice, admin_user, vault_app, read_scope, settings
):
    from django.core import mail

    settings.PORTAL_BASE_URL = "https://portal.example.com"
    token_request = domain.create_request(
        requester=alice, application=vault_app, scopes=[read_scope], lifetime_days=5, reason="x"
    )
    path = reverse("admin:approvals_tokenrequest_change", args=[token_request.pk])
    assert f"https://portal.example.com{path}" in mail.outbox[-1].body
    domain.approve(token_request, by=admin_user)
    assert "https://portal.example.com/profile/security/tokens/requests/" in mail.outbox[-1].body


def test_an_admin_does_not_decide_their_own_request(
    admin_client, admin_user, vault_app, read_scope
):
    own = domain.create_request(
        requester=admin_user,
        application=vault_app,
        scopes=[read_scope],
        lifetime_days=5,
        reason="x",
    )
    response = post_decision(admin_client, own, {"decision": "approve"})
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.state == RequestState.REQUESTED
    page = admin_client.get(response["Location"]).content.decode()
    assert "decided by another administrator" in page
