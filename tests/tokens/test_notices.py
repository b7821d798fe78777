"""Owners are told by e-mail what happens to their tokens: never the token itself."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.helpers import FORM
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken
from trustedapps.models import InstanceTokenPolicy

# Notices are sent once the change is committed: these tests commit, as the portal does.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_personal_token_created_in_the_browser_is_announced(alice, sync_app, read_scope):
    client = Client()
    client.force_login(alice)
    client.get("/profile/security/tokens/new/")
    form_key = client.get("/profile/security/tokens/new/").context["form"].initial["form_key"]
    response = client.post(
        "/profile/security/tokens/new/",
        {
            "application": sync_app.pk,
            "description": "backup",
            "expires_at": (timezone.now() + timedelta(days=5)).date().isoformat(),
            "scopes": [read_scope.pk],
            "form_key": form_key,
        },
    )
    assert response.status_code == 201
    plaintext = response.context["plaintext"]

    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "A personal access token was created for your account"
    assert f"enrt_…{plaintext[-4:]}" in message.body
    assert "backup" in message.body and "Sync" in message.body
    assert plaintext not in message.body


def test_a_personal_token_created_by_a_command_is_announced(alice, sync_app):
    call_command(
        "issue_token", "personal", "--user", "alice", "--app", "com.example/sync", stdout=None
    )
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    token = ReferenceToken.objects.get()
    assert token.masked in message.body


def test_a_service_token_is_not_announced_as_created(sync_service_token):
    assert mail.outbox == []


def test_revoked_by_an_administrator_tells_the_owner_who_and_why(alice_token, admin_user):
    mail.outbox.clear()
    lifecycle.revoke_token(alice_token.token, by=admin_user, reason="leaked in a public repository")

    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "1 access token of yours was revoked"
    assert "revoked by admin" in message.body
    assert "leaked in a public repository" in message.body
    assert alice_token.token.masked in message.body
    assert alice_token.plaintext not in message.body


def test_revoked_by_a_command_tells_the_owner(alice_token):
    mail.outbox.clear()
    call_command("revoke_token", str(alice_token.token.pk), "--reason", "offboarding", stdout=None)
    [message] = mail.outbox
    assert "a command on the server" in message.body
    assert "offboarding" in message.body


def test_revoked_by_its_holder_tells_the_owner(client, alice_token):
    mail.outbox.clear()
    response = client.post(
        "/connect/revocation", f"token={alice_token.plaintext}", content_type=FORM
    )
    assert response.status_code == 200
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "whoever holds the token" in message.body
    assert alice_token.plaintext not in message.body


def test_revoking_your_own_token_sends_nothing(alice_token, alice):
    mail.outbox.clear()
    lifecycle.revoke_token(alice_token.token, by=alice, reason="no longer needed")
    assert mail.outbox == []


def test_a_revoked_service_token_tells_its_creator_and_operations(
    sync_service_token, carol, settings
):
    settings.OPERATIONS_EMAIL = "ops@example.com"
    lifecycle.revoke_token(sync_service_token.token, by=carol, reason="job retired")
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@example.com", "ops@example.com"]


def test_a_rotation_tells_the_owner_about_the_replacement(alice_token, alice):
    mail.outbox.clear()
    new = lifecycle.rotate(alice_token.token, by=alice)

    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == f"Access token {alice_token.token.masked} was rotated"
    assert "rotated by alice" in message.body
    assert new.token.masked in message.body
    assert new.plaintext not in message.body and alice_token.plaintext not in message.body


def test_a_service_token_rotated_by_another_admin_is_still_announced_to_its_creator(
    sync_service_token, carol
):
    # The admin issued it; carol's rotation must not make her responsible for its notices.
    new = lifecycle.rotate(sync_service_token.token, by=carol).token
    mail.outbox.clear()

    lifecycle.revoke_token(new, by=carol, reason="job retired")

    assert [message.to for message in mail.outbox] == [["admin@example.com"]]


def test_a_mail_server_that_fails_never_undoes_or_breaks_a_rotation(alice_token, alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there

    new = lifecycle.rotate(alice_token.token, by=alice)

    assert ReferenceToken.objects.get(pk=new.token.pk).revoked_at is None
    assert alice_token.token.revoked_at is not None


def test_revoking_many_tokens_costs_the_same_queries_as_revoking_two(alice, sync_app, admin_user):

    def queries_to_revoke(count: int) -> int:
        for _ in range(count):
            lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(3))
        with CaptureQueriesContext(connection) as captured:
            lifecycle.revoke(ReferenceToken.objects.filter(revoked_at__isnull=True), by=admin_user)
        return len(captured)

    assert queries_to_revoke(2) == queries_to_revoke(10)
    assert len([m for m in mail.outbox if "revoked" in m.subject]) == 2


def test_a_notice_links_to_the_tokens_page_when_the_portal_knows_its_address(
    alice, sync_app, settings
):
    settings.PORTAL_BASE_URL = "https://id.example.com"
    token = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(3)
    ).token
    [message] = mail.outbox
    assert f"https://id.example.com/profile/security/tokens/{token.pk}/" in message.body


def test_the_text_of_a_notice_reads_line_by_line(alice, sync_app):
    token = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(3), description="R&D <sync>"
    ).token

    [message] = mail.outbox
    assert message.body == (
        "A personal access token acting as alice was created:\n"
        "\n"
        f"- {token.masked}, personal access token “R&D <sync>” for Sync "
        f"(expires {token.expires_at:%-d %b %Y}, 00:00 UTC)\n"
        "\n"
        "If you did not create it, revoke it at once: "
        "Profile → Security → Personal access tokens in the portal\n"
    )


def test_every_notice_has_an_html_part_that_escapes_what_people_typed(
    alice_token, alice, admin_user
):
    lifecycle.revoke_token(alice_token.token, by=admin_user, reason="<script>")
    rotated = lifecycle.issue_personal(
        user=alice,
        application=alice_token.token.application,
        expires_at=expiry_in_days(3),
        description="R&D <sync>",
    )
    lifecycle.rotate(rotated.token, by=alice)
    # Made long ago: a reminder stage that came before a token was made is never sent (issue 23).
    ReferenceToken.objects.update(created_at=timezone.now() - timedelta(days=90))
    call_command("notify_expiring_tokens", stdout=None)

    subjects = [message.subject for message in mail.outbox]
    assert len(subjects) == 5, subjects  # created twice, revoked, created and rotated, expiring
    for message in mail.outbox:
        [(html, kind)] = message.alternatives
        assert kind == "text/html"
        assert "enrt_…" in html and "enrt_…" in message.body
        assert "<script>" not in html and "<sync>" not in html
        for plaintext in (alice_token.plaintext, rotated.plaintext):
            assert plaintext not in message.body and plaintext not in html
    assert "R&amp;D &lt;sync&gt;" in mail.outbox[-1].alternatives[0][0]


def test_the_expired_notice_and_the_unused_warning_escape_what_people_typed(alice, sync_app):
    issued = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(3), description="R&D <sync>"
    )
    now = timezone.now()
    ReferenceToken.objects.update(
        created_at=now - timedelta(days=200), expires_at=now - timedelta(hours=1)
    )
    mail.outbox.clear()
    call_command("notify_expiring_tokens", stdout=None)
    InstanceTokenPolicy(unused_revoke_days=90).save()
    ReferenceToken.objects.update(expires_at=now + timedelta(days=30))
    call_command("revoke_unused_tokens", stdout=None)

    assert [m.subject for m in mail.outbox] == [
        "1 access token of yours has expired",
        f"1 unused access token of yours will be revoked on {(now + timedelta(days=7)):%-d %b %Y}",
    ]
    for message in mail.outbox:
        [(html, kind)] = message.alternatives
        assert kind == "text/html"
        assert issued.token.masked in html and issued.token.masked in message.body
        assert "R&amp;D &lt;sync&gt;" in html and "<sync>" not in html
        assert issued.plaintext not in message.body and issued.plaintext not in html


def test_counts_read_in_the_singular_and_the_plural(alice, sync_app, admin_user):
    def revoke(count: int) -> str:
        for _ in range(count):
            lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(3))
        mail.outbox.clear()
        lifecycle.revoke(ReferenceToken.objects.filter(revoked_at__isnull=True), by=admin_user)
        [message] = mail.outbox
        return f"{message.subject}\n{message.body}"

    one, two = revoke(1), revoke(2)

    assert one.startswith("1 access token of yours was revoked\nThis access token was revoked by")
    assert "Anything that used it no longer works. Create a new one where it is" in one
    assert two.startswith("2 access tokens of yours were revoked\nThese access tokens were")
    assert "Anything that used them no longer works. Create new ones where they are" in two
    assert "(s)" not in one + two


def test_a_service_token_revoked_by_a_command_sends_its_admin_to_the_admin(
    sync_service_token, admin_user, sync_app
):
    # Issue 20, defect 21: service tokens are made in the admin, not on the profile; an empty
    # description is left out rather than called "no description".
    ReferenceToken.objects.filter(pk=sync_service_token.token.pk).update(description="")
    mail.outbox.clear()
    call_command("revoke_token", str(sync_service_token.token.pk), reason="leaked")
    (message,) = [m for m in mail.outbox if admin_user.email in m.to]
    assert message.subject == "1 access token of yours was revoked"
    assert "Profile → Security" not in message.body
    assert "Create service access token" in message.body or (
        f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/" in message.body
    )
    assert "no description" not in message.body
    assert "token(s)" not in message.subject
