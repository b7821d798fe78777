"""The trusted applications' list and change page: policy, system user, the app's tokens."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from tests.helpers import grant, signed_in
from tokens.domain import lifecycle
from tokens.models import ReferenceToken
from trustedapps.models import TrustedApplication

LIST = "/admin/trustedapps/trustedapplication/"


def change_url(app) -> str:
    return f"{LIST}{app.pk}/change/"


def test_the_list_counts_only_live_tokens(as_admin, sync_app, alice, alice_token, in_30_days):
    lifecycle.issue_personal(user=alice, application=sync_app, expires_at=in_30_days)
    lifecycle.revoke_token(alice_token.token, by=alice)
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    response = as_admin.get(LIST)
    row = next(a for a in response.context["cl"].result_list if a.pk == sync_app.pk)
    assert row.live_count == 1


def test_the_list_costs_the_same_queries_for_many_apps(
    as_admin, sync_app, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert as_admin.get(LIST).status_code == 200
        return len(captured)

    few = queries()
    for n in range(10):
        app = TrustedApplication.objects.create(
            application_uri=f"com.example/app{n}", name=f"App {n}", has_system_user=True
        )
        app.allowed_scopes.set(sync_app.allowed_scopes.all())
    assert queries() == few


def test_the_list_filters_by_policy_and_enabled(as_admin, sync_app, reports_app, closed_app):
    closed_app.is_enabled = False
    closed_app.save()
    by_policy = as_admin.get(LIST + "?token_policy__exact=administrators_only")
    assert [a.name for a in by_policy.context["cl"].result_list] == ["Reports"]
    disabled = as_admin.get(LIST + "?is_enabled__exact=0")
    assert [a.name for a in disabled.context["cl"].result_list] == ["Closed"]
    found = as_admin.get(LIST + "?q=example/sync")
    assert [a.name for a in found.context["cl"].result_list] == ["Sync"]


def test_adding_an_app_with_a_system_user_creates_and_shows_it(as_admin, read_scope):
    response = as_admin.post(
        LIST + "add/",
        {
            "name": "Billing",
            "application_uri": "com.example/billing",
            "notes": "",
            "is_enabled": "on",
            "token_policy": "administrators_only",
            "has_system_user": "on",
            "allowed_scopes": [read_scope.pk],
            "max_token_lifetime_days": "90",
        },
    )
    assert response.status_code == 302
    app = TrustedApplication.objects.get(application_uri="com.example/billing")
    user = User.objects.get(system_application=app)
    assert not user.has_usable_password()
    page = as_admin.get(change_url(app)).content.decode()
    assert f'href="/admin/accounts/user/{user.pk}/change/"' in page
    assert "app.com.example-billing" in page


def test_its_page_shows_and_changes_whether_holders_may_rotate(as_admin, sync_app, read_scope):
    page = as_admin.get(change_url(sync_app)).content.decode()
    assert 'name="holders_may_rotate"' in page and "Holders may rotate" in page
    assert "POST /api/tokens/self/rotate" in page  # what it governs, in its help text

    response = as_admin.post(
        change_url(sync_app),
        {
            "name": "Sync",
            "application_uri": "com.example/sync",
            "is_enabled": "on",
            "token_policy": "authenticated_users",
            "has_system_user": "on",
            "allowed_scopes": [read_scope.pk],
            # "holders_may_rotate" unticked
        },
    )

    assert response.status_code == 302
    sync_app.refresh_from_db()
    assert not sync_app.holders_may_rotate


def test_a_new_application_lets_holders_rotate_until_told_otherwise(as_admin):
    form = as_admin.get(LIST + "add/").context["adminform"].form
    assert form["holders_may_rotate"].value() is True


def test_the_button_shows_for_admins_when_the_app_can_have_service_tokens(as_admin, sync_app):
    page = as_admin.get(change_url(sync_app)).content.decode()
    assert "Create service access token" in page
    assert f"{sync_app.pk}/create-token/" in page


def test_the_button_is_absent_with_the_reason_when_the_app_cannot(as_admin, closed_app):
    page = as_admin.get(change_url(closed_app)).content.decode()
    assert "create-token/" not in page
    # In plain words, as a visible notice: what is wrong and what to change.
    assert '<p class="portal-notice service-tokens-refusal" role="note">' in page
    assert "Service access tokens are off for this application: its token policy is" in page
    assert "change the policy to Administrators only or Authenticated users" in page
    assert "give it a system user" in page


def test_staff_who_may_not_issue_see_no_button(dave, sync_app):
    response = signed_in(dave).get(change_url(sync_app))
    assert response.status_code == 200
    assert "create-token/" not in response.content.decode()


def test_the_change_page_lists_the_apps_tokens_with_revoke_buttons(
    as_admin, sync_app, alice_token, sync_service_token
):
    page = as_admin.get(change_url(sync_app)).content.decode()
    for issued in (alice_token, sync_service_token):
        assert issued.token.masked in page
        assert f"/admin/tokens/referencetoken/{issued.token.pk}/revoke/?next=" in page
        assert issued.plaintext not in page
    assert "laptop sync" in page and "nightly job" in page
    assert "Personal" in page and "Service" in page


def test_staff_without_the_revoke_permission_see_no_revoke_button(dave, sync_app, alice_token):
    page = signed_in(dave).get(change_url(sync_app)).content.decode()
    assert alice_token.token.masked in page
    assert "/revoke/" not in page


def test_staff_with_only_view_permission_cannot_save(sync_app):
    viewer = grant(
        User.objects.create_user("vic", "vic@example.com", "x", is_staff=True),
        "view_trustedapplication",
    )
    response = signed_in(viewer).post(change_url(sync_app), {"name": "Hijacked"})
    assert response.status_code == 403
    sync_app.refresh_from_db()
    assert sync_app.name == "Sync"


def test_staff_without_permission_get_403(erin, sync_app):
    client = signed_in(erin)
    assert client.get(LIST).status_code == 403
    assert client.get(change_url(sync_app)).status_code == 403


def test_an_application_with_tokens_offers_no_delete_and_says_why(as_admin, sync_app, alice_token):
    page = as_admin.get(change_url(sync_app)).content.decode()
    assert "deletelink" not in page
    assert "This application cannot be deleted: it has tokens" in page
    assert as_admin.get(f"{change_url(sync_app).rsplit('change/', 1)[0]}delete/").status_code == 403


def test_an_application_without_tokens_can_be_deleted(as_admin, closed_app):
    assert "deletelink" in as_admin.get(change_url(closed_app)).content.decode()
