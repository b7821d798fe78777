"""Who may issue which token for which application, and every refusal, naming its rule."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken, TokenEvent, TokenKind
from trustedapps.models import Scope, TokenPolicy, TrustedApplication

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def refusal_code(excinfo: pytest.ExceptionInfo[ValidationError]) -> str:
    error = excinfo.value
    if hasattr(error, "error_dict"):
        [errors] = error.error_dict.values()
        return errors[0].code
    return error.code


def issue(kind: str, actor: User, application: TrustedApplication, **kwargs):
    kwargs.setdefault("expires_at", expiry_in_days(7))
    if kind == TokenKind.PERSONAL:
        return lifecycle.issue_personal(user=actor, application=application, **kwargs)
    return lifecycle.issue_service(admin=actor, application=application, **kwargs)


@pytest.fixture
def frozen_clock(monkeypatch) -> datetime:
    """Django's clock stands still at NOW, so a boundary can be hit to the microsecond."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@pytest.fixture
def app_with_policy(read_scope):
    def make(policy: str) -> TrustedApplication:
        app = TrustedApplication.objects.create(
            application_uri=f"com.example/{policy}",
            name=policy,
            token_policy=policy,
            has_system_user=True,
        )
        app.allowed_scopes.set([read_scope])
        return app

    return make


# (policy, persona, kind) -> the refusal code, or None when the token is issued.
# alice is a person; admin_user a superuser; carol holds only the dedicated permission.
POLICY_MATRIX = [
    (TokenPolicy.NONE, "alice", TokenKind.PERSONAL, "policy"),
    (TokenPolicy.NONE, "admin_user", TokenKind.PERSONAL, "policy"),
    (TokenPolicy.NONE, "carol", TokenKind.PERSONAL, "policy"),
    (TokenPolicy.NONE, "alice", TokenKind.SERVICE, "not_admin"),
    (TokenPolicy.NONE, "admin_user", TokenKind.SERVICE, "no_service_tokens"),
    (TokenPolicy.NONE, "carol", TokenKind.SERVICE, "no_service_tokens"),
    (TokenPolicy.AUTHENTICATED_USERS, "alice", TokenKind.PERSONAL, None),
    (TokenPolicy.AUTHENTICATED_USERS, "admin_user", TokenKind.PERSONAL, None),
    (TokenPolicy.AUTHENTICATED_USERS, "carol", TokenKind.PERSONAL, None),
    (TokenPolicy.AUTHENTICATED_USERS, "alice", TokenKind.SERVICE, "not_admin"),
    (TokenPolicy.AUTHENTICATED_USERS, "admin_user", TokenKind.SERVICE, None),
    (TokenPolicy.AUTHENTICATED_USERS, "carol", TokenKind.SERVICE, None),
    (TokenPolicy.ADMINISTRATORS_ONLY, "alice", TokenKind.PERSONAL, "policy"),
    (TokenPolicy.ADMINISTRATORS_ONLY, "admin_user", TokenKind.PERSONAL, None),
    (TokenPolicy.ADMINISTRATORS_ONLY, "carol", TokenKind.PERSONAL, None),
    (TokenPolicy.ADMINISTRATORS_ONLY, "alice", TokenKind.SERVICE, "not_admin"),
    (TokenPolicy.ADMINISTRATORS_ONLY, "admin_user", TokenKind.SERVICE, None),
    (TokenPolicy.ADMINISTRATORS_ONLY, "carol", TokenKind.SERVICE, None),
]


@pytest.mark.parametrize(("policy", "persona", "kind", "refusal"), POLICY_MATRIX)
def test_the_policy_decides_who_may_issue_which_kind(
    request, app_with_policy, policy, persona, kind, refusal
):
    actor = request.getfixturevalue(persona)
    app = app_with_policy(policy)
    if refusal:
        with pytest.raises(ValidationError) as excinfo:
            issue(kind, actor, app)
        assert refusal_code(excinfo) == refusal
        assert not ReferenceToken.objects.exists()
        assert not TokenEvent.objects.exists()
        return
    issued = issue(kind, actor, app)
    token = ReferenceToken.objects.get()
    assert token.pk == issued.token.pk
    assert token.kind == kind
    assert token.created_by == actor
    # A PAT acts as its owner; a SAT as the application's system user, never as its creator.
    assert token.user == (actor if kind == TokenKind.PERSONAL else app.system_user)
    assert list(token.events.values_list("action", "actor")) == [("issued", actor.pk)]


def test_a_service_token_acts_as_the_system_user_not_the_admin(sync_service_token, sync_app):
    token = sync_service_token.token
    assert token.user.is_system_user
    assert token.user.system_application == sync_app
    assert token.user.username == "app.com.example-sync"


def test_it_refuses_a_personal_token_for_a_system_user(sync_app):
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.PERSONAL, sync_app.system_user, sync_app)
    assert refusal_code(excinfo) == "system_user"


def test_it_refuses_a_personal_token_for_an_inactive_user(alice, sync_app):
    alice.is_active = False
    alice.save()
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.PERSONAL, alice, sync_app)
    assert refusal_code(excinfo) == "inactive_user"


def test_it_refuses_a_personal_token_for_a_disabled_application(alice, sync_app):
    sync_app.is_enabled = False
    sync_app.save()
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.PERSONAL, alice, sync_app)
    assert refusal_code(excinfo) == "disabled_application"
    assert "Sync is disabled" in excinfo.value.messages[0]


def test_an_inactive_admin_cannot_issue_service_tokens(admin_user, sync_app):
    admin_user.is_active = False
    admin_user.save()
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.SERVICE, admin_user, sync_app)
    assert refusal_code(excinfo) == "not_admin"


def test_a_system_user_cannot_issue_service_tokens_even_as_superuser(sync_app, reports_app):
    # Nobody should ever do this, but a system user must not become an administrator.
    system_user = reports_app.system_user
    system_user.is_superuser = True
    system_user.save()
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.SERVICE, system_user, sync_app)
    assert refusal_code(excinfo) == "not_admin"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"has_system_user": False}, "It has no system user."),
        ({"is_enabled": False}, "It is disabled."),
        ({"token_policy": TokenPolicy.NONE}, "Its token policy is 'none'."),
    ],
)
def test_it_refuses_a_service_token_the_application_cannot_have(
    admin_user, sync_app, change, message
):
    for field, value in change.items():
        setattr(sync_app, field, value)
    sync_app.save()
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.SERVICE, admin_user, sync_app)
    assert refusal_code(excinfo) == "no_service_tokens"
    assert message in excinfo.value.messages[0]


def test_it_refuses_a_service_token_when_the_system_user_was_deactivated(admin_user, sync_app):
    system_user = sync_app.system_user
    system_user.is_active = False
    system_user.save()
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.SERVICE, admin_user, sync_app)
    assert refusal_code(excinfo) == "policy"
    assert "no active system user" in excinfo.value.messages[0]


def test_without_scopes_a_token_gets_all_of_the_application(alice, sync_app):
    issued = issue(TokenKind.PERSONAL, alice, sync_app)
    assert sorted(issued.token.scopes.values_list("name", flat=True)) == ["read", "update"]


def test_a_token_gets_the_subset_asked_for(alice, sync_app, read_scope):
    issued = issue(TokenKind.PERSONAL, alice, sync_app, scopes=[read_scope])
    assert list(issued.token.scopes.values_list("name", flat=True)) == ["read"]


def test_it_refuses_a_scope_the_application_does_not_allow(alice, reports_app, carol):
    billing = Scope.objects.create(name="billing")
    update = Scope.objects.get(name="update")
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.PERSONAL, carol, reports_app, scopes=[billing, update])
    assert refusal_code(excinfo) == "foreign_scope"
    assert "billing, update" in excinfo.value.messages[0]


def test_it_refuses_a_token_for_an_application_without_scopes(alice, sync_app):
    sync_app.allowed_scopes.clear()
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.PERSONAL, alice, sync_app)
    assert refusal_code(excinfo) == "no_scopes"


def test_it_refuses_a_description_over_128_characters(alice, sync_app):
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.PERSONAL, alice, sync_app, description="x" * 129)
    assert refusal_code(excinfo) == "description_too_long"
    issued = issue(TokenKind.PERSONAL, alice, sync_app, description="x" * 128)
    assert issued.token.description == "x" * 128


def test_it_refuses_a_token_without_expiry(alice, sync_app):
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.PERSONAL, alice, sync_app, expires_at=None)
    assert refusal_code(excinfo) == "expiry_required"


def test_the_expiry_must_be_strictly_in_the_future(alice, sync_app, frozen_clock):
    # The clock stands at noon: today's 00:00 UTC is past, tomorrow's is the first allowed.
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.PERSONAL, alice, sync_app, expires_at=expiry_in_days(0))
    assert refusal_code(excinfo) == "expiry_in_past"
    issued = issue(TokenKind.PERSONAL, alice, sync_app, expires_at=expiry_in_days(1))
    assert issued.token.expires_at == datetime(2026, 3, 2, tzinfo=UTC)


def test_the_expiry_is_00_00_utc_of_a_day_whoever_issues(alice, sync_app, frozen_clock):
    # The forms and the commands give no other moment; a caller in Python may not either.
    for moment in (
        frozen_clock + timedelta(days=7),
        expiry_in_days(7) + timedelta(microseconds=1),
        expiry_in_days(7).astimezone(timezone.get_fixed_timezone(60)).replace(hour=0),
    ):
        with pytest.raises(ValidationError, match="00:00:00 UTC of a day") as excinfo:
            issue(TokenKind.PERSONAL, alice, sync_app, expires_at=moment)
        assert refusal_code(excinfo) == "expiry_not_start_of_day"
    assert not ReferenceToken.objects.exists()


def test_the_application_longest_lifetime_is_allowed_to_the_day(carol, reports_app, frozen_clock):
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.SERVICE, carol, reports_app, expires_at=expiry_in_days(31))
    assert refusal_code(excinfo) == "expiry_too_far"
    assert "at most 30 days" in excinfo.value.messages[0]
    assert issue(TokenKind.SERVICE, carol, reports_app, expires_at=expiry_in_days(30)).token.pk


def test_the_instance_longest_lifetime_applies_where_the_application_sets_none(
    alice, sync_app, frozen_clock, settings
):
    settings.TOKEN_MAX_LIFETIME_DAYS = 10
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.PERSONAL, alice, sync_app, expires_at=expiry_in_days(11))
    assert refusal_code(excinfo) == "expiry_too_far"
    assert issue(TokenKind.PERSONAL, alice, sync_app, expires_at=expiry_in_days(10)).token.pk


def test_a_refusal_names_its_field_for_forms(alice, sync_app):
    with pytest.raises(ValidationError) as excinfo:
        issue(TokenKind.PERSONAL, alice, sync_app, expires_at=None)
    assert list(excinfo.value.error_dict) == ["expires_at"]


def test_an_issued_token_records_its_issue_and_keeps_only_a_hash(alice, sync_app):
    issued = issue(TokenKind.PERSONAL, alice, sync_app, ip="203.0.113.9")
    token = ReferenceToken.objects.get(pk=issued.token.pk)
    assert token.hint == issued.plaintext[-4:]
    assert token.token_hash != issued.plaintext
    assert issued.plaintext not in repr(issued)
    event = token.events.get()
    assert (event.action, event.actor, event.ip) == ("issued", alice, "203.0.113.9")
