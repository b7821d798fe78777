"""Leak reporters (a GitLab instance's pre-shared secret): made in the admin, shown once."""

import re

from django.contrib.admin.models import LogEntry

from accounts.sudo import SESSION_KEY
from tests.helpers import signed_in, stored_anywhere
from tokens.leaks.models import LeakReporter

LIST = "/admin/leaks/leakreporter/"
SECRET_RE = re.compile(r'id="shown-once-value"[^>]*>([^<]+)</textarea>', re.S)


def test_adding_a_reporter_shows_its_secret_once_and_keeps_only_a_hash(as_admin, client):
    response = as_admin.post(LIST + "add/", {"name": "gitlab.example.com", "is_enabled": "on"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = SECRET_RE.search(response.content.decode()).group(1)
    assert "will not be shown again" in response.content.decode()
    assert stored_anywhere(secret) == []
    assert all(secret not in e.change_message + e.object_repr for e in LogEntry.objects.all())
    reporter = LeakReporter.objects.get()
    assert secret not in as_admin.get(f"{LIST}{reporter.pk}/change/").content.decode()
    # The secret works at once, as GitLab sends it.
    answer = client.get("/api/leaks/gitlab/v1/revocable_token_types", HTTP_AUTHORIZATION=secret)
    assert answer.status_code == 200


def test_a_stale_admin_confirms_the_password_before_the_secret_is_shown(as_admin):
    session = as_admin.session
    session[SESSION_KEY] -= 3600
    session.save()

    asked = as_admin.post(LIST + "add/", {"name": "gitlab.example.com", "is_enabled": "on"})

    assert asked.status_code == 200
    assert "add the leak reporter gitlab.example.com and see its secret" in asked.content.decode()
    assert not SECRET_RE.search(asked.content.decode())
    assert not LeakReporter.objects.exists()


def test_staff_without_permission_cannot_add_one(dave):

    response = signed_in(dave).post(LIST + "add/", {"name": "x", "is_enabled": "on"})

    assert response.status_code == 403
    assert not LeakReporter.objects.exists()
