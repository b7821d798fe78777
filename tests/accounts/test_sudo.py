"""Sudo mode (accounts/sudo.py): the password it asks for never reaches an error report."""

from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.views.debug import ExceptionReporter
from django.views.decorators.debug import sensitive_post_parameters

from accounts.sudo import (
    CODE_FIELD,
    KEY_FIELD,
    PASSWORD_FIELD,
    SESSION_KEY,
    keep_out_of_error_reports,
)
from tests.helpers import PASSWORD

PEOPLE_BACKEND = "accounts.backends.PeopleOnlyBackend"
SECOND_FACTORS = [CODE_FIELD, KEY_FIELD]


class UnreachableDirectoryBackend:
    """An identity backend whose server is down, as an LDAP one would be: every check fails."""

    def authenticate(self, request, **credentials):
        raise ConnectionError("the directory server is unreachable")

    def get_user(self, user_id):
        return None


@pytest.fixture
def failing_password_checks(settings) -> None:
    """Production's reports (DEBUG off, ADMINS told) and a password check that fails with a 500."""
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        f"{__name__}.UnreachableDirectoryBackend",
        PEOPLE_BACKEND,
    ]


def stale_client(user) -> Client:
    """Signed in long enough ago that a new credential asks for the password again."""
    client = Client(raise_request_exception=False)
    client.force_login(user, backend=PEOPLE_BACKEND)
    session = client.session
    session[SESSION_KEY] -= 3600
    session.save()
    return client


def admin_rotates_a_service_token(request) -> tuple[Client, str, dict]:
    client = stale_client(request.getfixturevalue("admin_user"))
    url = f"/admin/tokens/referencetoken/{request.getfixturevalue('sync_service_token').token.pk}"
    form_key = client.get(f"{url}/rotate/").context["form_key"]
    return client, f"{url}/rotate/", {"form_key": form_key}


def admin_rotates_a_secret(request) -> tuple[Client, str, dict]:
    server = request.getfixturevalue("orders_api").server
    client = stale_client(request.getfixturevalue("admin_user"))
    return client, f"/admin/trustedapps/resourceserver/{server.pk}/rotate-secret/", {}


def admin_issues_a_service_token(request) -> tuple[Client, str, dict]:
    app = request.getfixturevalue("sync_app")
    client = stale_client(request.getfixturevalue("admin_user"))
    url = f"/admin/trustedapps/trustedapplication/{app.pk}/create-token/"
    form = client.get(url).context["form"]
    data = {
        "description": "nightly",
        "expires_in": form.initial["expires_in"],
        "scopes": [app.allowed_scopes.first().pk],
        "form_key": form.initial["form_key"],
    }
    return client, url, data


def alice_rotates_her_token(request) -> tuple[Client, str, dict]:
    client = stale_client(request.getfixturevalue("alice"))
    url = f"/profile/security/tokens/{request.getfixturevalue('alice_token').token.pk}/rotate/"
    return client, url, {"form_key": client.get(url).context["form_key"]}


def admin_registers_a_resource_server(request) -> tuple[Client, str, dict]:
    client = stale_client(request.getfixturevalue("admin_user"))
    scope = request.getfixturevalue("read_scope")
    return client, "/admin/trustedapps/resourceserver/add/", {"client_id": "x", "scopes": scope.pk}


def admin_makes_alice_staff(request) -> tuple[Client, str, dict]:
    client = stale_client(request.getfixturevalue("admin_user"))
    alice = request.getfixturevalue("alice")
    data = {"username": "alice", "email": alice.email, "is_active": "on", "is_staff": "on"}
    return client, f"/admin/accounts/user/{alice.pk}/change/", data


SUDO_POSTS: list[Callable] = [
    admin_rotates_a_service_token,
    admin_rotates_a_secret,
    admin_issues_a_service_token,
    admin_registers_a_resource_server,
    admin_makes_alice_staff,
    alice_rotates_her_token,
]


@pytest.mark.parametrize("sudo_post", SUDO_POSTS, ids=lambda f: f.__name__)
def test_a_500_while_the_password_is_checked_reports_no_password(
    request, db, failing_password_checks, caplog, sudo_post
):
    client, url, data = sudo_post(request)
    mail.outbox.clear()

    response = client.post(url, {**data, PASSWORD_FIELD: PASSWORD})

    assert response.status_code == 500
    [report] = mail.outbox
    assert report.to == ["ops@example.com"]
    assert "the directory server is unreachable" in report.body  # the report is there...
    assert f"{PASSWORD_FIELD} = '" in report.body  # ...with its POST data...
    mailed = [report.subject, report.body, *(str(body) for body, _ in report.alternatives)]
    assert not any(PASSWORD in text for text in mailed)  # ...but never the password
    # The HTML report (frames and their variables, as DEBUG pages and include_html mail it).
    [record] = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    html = ExceptionReporter(record.request, *record.exc_info, is_email=True).get_traceback_html()
    assert PASSWORD_FIELD in html
    assert PASSWORD not in html


def test_the_mark_keeps_what_a_view_marked_itself(rf):
    marked = rf.post("/", {"other_secret": "x", PASSWORD_FIELD: PASSWORD})
    marked.sensitive_post_parameters = ["other_secret"]
    keep_out_of_error_reports(marked)
    # The second factors' fields (issue 21) are as sensitive as the password.
    assert marked.sensitive_post_parameters == ["other_secret", PASSWORD_FIELD, *SECOND_FACTORS]

    # Every field, named: a report reads a frame's copy of request.POST by names only.
    everything = rf.post("/", {"a": "1", "b": "2", PASSWORD_FIELD: PASSWORD})
    sensitive_post_parameters()(lambda r: None)(everything)
    keep_out_of_error_reports(everything)
    assert everything.sensitive_post_parameters == ["a", "b", PASSWORD_FIELD, *SECOND_FACTORS]

    twice = rf.post("/")
    keep_out_of_error_reports(twice)
    keep_out_of_error_reports(twice)
    assert twice.sensitive_post_parameters == [PASSWORD_FIELD, *SECOND_FACTORS]
