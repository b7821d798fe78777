"""Trusted applications: their system user, their policy, their lifetime."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from trustedapps.models import Scope, TokenPolicy, TrustedApplication


def test_the_scope_catalogue_starts_with_read_and_update(db):
    scopes = dict(Scope.objects.values_list("name", "description"))
    assert set(scopes) >= {"read", "update"}
    assert scopes["read"] and scopes["update"]


def test_an_application_with_a_system_user_gets_one_on_creation(db):
    app = TrustedApplication.objects.create(
        application_uri="com.example/etl", name="ETL", has_system_user=True
    )
    user = User.objects.get(system_application=app)
    assert user.username == "app.com.example-etl"
    assert user.is_active and user.is_system_user
    assert not user.has_usable_password()


def test_an_application_without_a_system_user_has_none(closed_app):
    assert not User.objects.filter(system_application=closed_app).exists()


def test_enabling_the_system_user_later_creates_it(closed_app):
    closed_app.has_system_user = True
    closed_app.save()
    assert User.objects.get(system_application=closed_app).is_active


def test_disabling_the_system_user_deactivates_it_and_keeps_it(sync_app):
    user = sync_app.system_user
    sync_app.has_system_user = False
    sync_app.save()
    user.refresh_from_db()
    assert not user.is_active
    sync_app.has_system_user = True
    sync_app.save()
    user.refresh_from_db()
    assert user.is_active
    assert User.objects.filter(system_application=sync_app).count() == 1


def test_a_system_username_taken_by_a_person_gets_the_application_id(db):
    User.objects.create_user("app.com.example-etl")
    app = TrustedApplication.objects.create(
        application_uri="com.example/etl", name="ETL", has_system_user=True
    )
    assert app.system_user.username == f"app.com.example-etl.{app.pk}"


def test_application_uris_are_unique(sync_app):
    duplicate = TrustedApplication(application_uri="com.example/sync", name="Again")
    with pytest.raises(ValidationError):
        duplicate.full_clean()


def test_an_application_uri_has_no_spaces(db):
    with pytest.raises(ValidationError) as excinfo:
        TrustedApplication(application_uri="com example", name="X").full_clean()
    assert "application_uri" in excinfo.value.error_dict


def test_the_default_policy_allows_no_tokens(db):
    app = TrustedApplication.objects.create(application_uri="com.example/new", name="New")
    assert app.token_policy == TokenPolicy.NONE
    policy = TokenPolicy(app.token_policy)
    assert not policy.allows_personal(by_admin=True)
    assert not policy.allows_service()


def test_the_longest_lifetime_falls_back_to_the_instance_default(sync_app, reports_app, settings):
    settings.TOKEN_MAX_LIFETIME_DAYS = 365
    assert sync_app.max_token_lifetime == timedelta(days=365)
    assert reports_app.max_token_lifetime == timedelta(days=30)


def test_issuable_by_lists_only_what_each_person_may_issue_for(
    alice, admin_user, carol, sync_app, reports_app, closed_app
):
    def issuable(user):
        return set(TrustedApplication.objects.issuable_by(user).values_list("name", flat=True))

    assert issuable(alice) == {"Sync"}
    assert issuable(admin_user) == {"Sync", "Reports"}
    assert issuable(carol) == {"Sync", "Reports"}
    assert issuable(sync_app.system_user) == set()
    sync_app.is_enabled = False
    sync_app.save()
    assert issuable(alice) == set()
