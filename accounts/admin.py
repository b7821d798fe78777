"""People and system users. System users never sign in, so they never get a password.

Their tokens (a summary, warnings, "Revoke all tokens") are added by tokens.admin.users, which
extends UserAdmin: this app knows nothing of tokens.
"""

from __future__ import annotations

from typing import Any

from axes.utils import reset as reset_sign_in_attempts
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.events import account_event
from accounts.lockout import locked_attempts
from accounts.models import AccountEvent, User
from accounts.sudo import admin_confirmation_needed, admin_form_confirmation_needed
from common.admin import object_page

# What makes a user an administrator, and with which powers (is_staff opens the admin to the
# permissions their groups hold). Only superusers change them, after confirming their password.
ADMIN_RIGHTS = ["is_staff", "is_superuser", "groups", "user_permissions"]
RIGHTS_READ_ONLY = "Only a superuser changes staff and superuser status, groups and permissions."


def manages(actor: User, user: User) -> bool:
    """Whether `actor`, who may change users, may change this one (password and e-mail included).

    Superusers manage everyone. Other staff manage themselves and people without admin rights,
    never another administrator: changing a superuser's e-mail or password, or another staff
    member's, would be taking over an account with more powers than their own.
    """
    return actor.is_superuser or actor.pk == user.pk or not (user.is_staff or user.is_superuser)


def rights_change(form) -> str | None:
    """What a valid user form would change in admin rights, as sudo mode words it (or None)."""
    changed = [name for name in ADMIN_RIGHTS if name in form.changed_data]
    if not changed:
        return None
    labels = ", ".join(str(form.fields[name].label).lower() for name in changed)
    return f"change the admin rights of {form.instance.get_username()} ({labels})"


def _password_shown(field: Any) -> Any:
    # A fieldset line is a field's name, or a tuple of names shown side by side.
    return "password_state" if field == "password" else field


class UserKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("people", "People"), ("system", "System users")]

    def queryset(self, request, queryset):
        if self.value() == "people":
            return queryset.people()
        if self.value() == "system":
            return queryset.system_users()
        return queryset


def _second_factors() -> dict[str, Any]:
    """Annotations: whether a user has an authenticator app, and how many security keys."""
    from allauth.mfa.models import Authenticator

    own = Authenticator.objects.filter(user=OuterRef("pk"))
    keys = (
        own.filter(type=Authenticator.Type.WEBAUTHN)
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return {
        "has_totp": Exists(own.filter(type=Authenticator.Type.TOTP)),
        "key_count": Coalesce(Subquery(keys), 0),
    }


def _account_security(user: User) -> dict[str, Any]:
    """A person's second factors and signed-in sessions, for their admin page."""
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    names = {
        Authenticator.Type.TOTP: "authenticator app",
        Authenticator.Type.WEBAUTHN: "security key or passkey",
        Authenticator.Type.RECOVERY_CODES: "recovery codes",
    }
    kinds = Authenticator.objects.filter(user=user).order_by("type").values_list("type", flat=True)
    return {
        "second_factors": [names.get(kind, kind) for kind in kinds],
        "user_sessions": list(UserSession.objects.filter(user=user).order_by("-last_seen_at")),
    }


class SecondFactorFilter(admin.SimpleListFilter):
    """Issue 21: who has no second factor (MFA_REQUIRED's concern)."""

    title = "second factor"
    parameter_name = "mfa"

    def lookups(self, request, model_admin):
        return [("none", "No second factor"), ("some", "Has a second factor")]

    def queryset(self, request, queryset):
        from allauth.mfa.models import Authenticator

        factors = Authenticator.objects.filter(user=OuterRef("pk")).exclude(
            type=Authenticator.Type.RECOVERY_CODES
        )
        if self.value() == "none":
            return queryset.people().filter(~Exists(factors))
        if self.value() == "some":
            return queryset.filter(Exists(factors))
        return queryset


# Issue 20, defect 13: who is locked out shows in the users list, one click from Unlock.
class LockedOutFilter(admin.SimpleListFilter):
    """People kept from signing in now (django-axes' lockouts), to unlock from their page."""

    title = "sign-in"
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", "Locked out")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(username__in=locked_attempts().values("username"))
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = [
        "username",
        "kind_badge",
        "email",
        "is_staff",
        "is_active",
        "second_factors",
        "last_sign_in",
        "sign_in_state",
    ]
    list_filter = [
        UserKindFilter,
        SecondFactorFilter,
        LockedOutFilter,
        "is_staff",
        "is_superuser",
        "is_active",
        "groups",
    ]
    search_fields = [
        "username",
        "first_name",
        "last_name",
        "email",
        "system_application__application_uri",
    ]
    list_select_related = ["system_application"]
    # Set by the system, never typed in (and the split date widgets carry no labels of their own).
    readonly_fields = ["system_application", "last_login", "date_joined"]
    # Plain multiple selects: the two-box widget's icons carry ARIA that assistive tools reject.
    filter_horizontal = ()
    system_user_fieldsets = [
        (None, {"fields": ["username", "system_application", "password_state"]}),
        (
            "Status",
            {
                "fields": ["is_active"],
                "description": "A system user acts for its trusted application's service "
                "tokens. It has no password and cannot sign in.",
            },
        ),
        ("Important dates", {"fields": ["date_joined"]}),
    ]
    # What makes a system user what it is: fixed. Its application's page turns it off.
    system_user_readonly_fields = [
        "username",
        "system_application",
        "password_state",
        "date_joined",
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.is_system_user:
            return self.system_user_fieldsets
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or request.user.is_superuser:
            return fieldsets
        shown = []
        for name, options in fieldsets:
            fields = options["fields"]
            if not manages(request.user, obj):
                # Not Django's "Reset password" button, which would lead to a refusal.
                fields = [_password_shown(field) for field in fields]
            if "is_superuser" in fields:
                options = {**options, "description": RIGHTS_READ_ONLY}
            shown.append((name, {**options, "fields": fields}))
        return shown

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.is_system_user:
            fields += self.system_user_readonly_fields
        if not request.user.is_superuser:
            # Read-only on every form, so a crafted POST cannot change them either.
            fields += [name for name in ADMIN_RIGHTS if name not in fields]
        if obj is not None and not manages(request.user, obj) and "password_state" not in fields:
            fields.append("password_state")
        return fields

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and not manages(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a system user would orphan its tokens' audit trail: disabling the
        # application (or unticking its system user) is the way.
        if obj is not None and (obj.is_system_user or not manages(request.user, obj)):
            return False
        return super().has_delete_permission(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Granting admin rights grants the power to make secrets: sudo mode first.
        confirm = admin_form_confirmation_needed(self, request, object_id, action=rights_change)
        if confirm is not None:
            return confirm
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description="password")
    def password_state(self, user: User) -> str:
        if user.is_system_user:
            return "None: a system user cannot sign in."
        return "Only a superuser changes an administrator's password."

    def get_queryset(self, request: HttpRequest):
        # Whether each listed person is locked out, and their second factors: subqueries, not
        # queries a row.
        locked = locked_attempts().filter(username=OuterRef("username"))
        return (
            super()
            .get_queryset(request)
            .annotate(is_locked_out=Exists(locked), **_second_factors())
        )

    @admin.display(description="sign-in")
    def sign_in_state(self, user: User) -> str:
        if not getattr(user, "is_locked_out", False):
            return "—"
        url = reverse("admin:accounts_user_unlock", args=[quote(user.pk)])
        return format_html(
            '<span class="label label--suspended">Locked out</span> <a href="{}">Unlock…</a>', url
        )

    def locked_out_attempts(self, user: User):
        """django-axes' records that keep this user from signing in now (any address)."""
        return locked_attempts().filter(username=user.username)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        user = self.get_object(request, object_id)
        if user is not None and not user.is_system_user:
            context["locked_out"] = self.locked_out_attempts(user).exists()
            context["may_unlock"] = self.has_change_permission(request, user)
            context.update(_account_security(user))
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/unlock/",
                self.admin_site.admin_view(self.unlock_view),
                name="accounts_user_unlock",
            ),
            # Issue 21: a person's second factors and signed-in sessions.
            path(
                "<path:object_id>/reset-second-factors/",
                self.admin_site.admin_view(self.reset_factors_view),
                name="accounts_user_reset_factors",
            ),
            path(
                "<path:object_id>/end-sessions/",
                self.admin_site.admin_view(self.end_sessions_view),
                name="accounts_user_end_sessions",
            ),
            *super().get_urls(),
        ]

    def unlock_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """End a sign-in cool-off now (django-axes' reset), after a confirmation."""
        user = self.get_object(request, object_id)
        if user is None:
            raise Http404("No such user.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        change_url = reverse("admin:accounts_user_change", args=[quote(user.pk)])
        if request.method == "POST":
            return self._unlock(request, user, change_url)
        return object_page(
            self,
            request,
            user,
            "admin/accounts/user/unlock.html",
            f"Unlock sign-in for {user.username}?",
            locked_out=self.locked_out_attempts(user).exists(),
        )

    def _person_to_manage(self, request: HttpRequest, object_id: str) -> User:
        user = self.get_object(request, object_id)
        if user is None or user.is_system_user:
            raise Http404("No such person.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        return user

    def reset_factors_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Remove every second factor of a person who lost theirs: sudo mode, audited, and the
        person is told by e-mail."""
        from allauth.mfa.models import Authenticator

        from accounts.notices import notify

        user = self._person_to_manage(request, object_id)
        change_url = reverse("admin:accounts_user_change", args=[quote(user.pk)])
        if request.method == "POST":
            action = f"reset the second factors of {user.username}"
            confirm = admin_confirmation_needed(self, request, user, action=action)
            if confirm is not None:
                return confirm
            removed = Authenticator.objects.filter(user=user).delete()[0]
            self.log_change(request, user, "Reset second factors.")
            what = f"your second factors were reset by the administrator {request.user}"
            notify(request, user, "account.mfa_reset", what)
            self.message_user(
                request, f"Removed {removed} second factor(s) of {user.username}.", messages.SUCCESS
            )
            return HttpResponseRedirect(change_url)
        return object_page(
            self,
            request,
            user,
            "admin/accounts/user/account_security.html",
            f"Reset the second factors of {user.username}?",
            what="reset_factors",
            **_account_security(user),
        )

    def end_sessions_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Sign a person out of every browser (allauth.usersessions), audited."""
        from allauth.usersessions.models import UserSession

        user = self._person_to_manage(request, object_id)
        change_url = reverse("admin:accounts_user_change", args=[quote(user.pk)])
        if request.method == "POST":
            sessions = list(UserSession.objects.filter(user=user))
            for session in sessions:
                session.end()
            self.log_change(request, user, f"Ended {len(sessions)} session(s).")
            account_event(request, "account.session_ended", user=user, by=str(request.user))
            self.message_user(
                request,
                f"{user.username} is signed out of {len(sessions)} session(s).",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        return object_page(
            self,
            request,
            user,
            "admin/accounts/user/account_security.html",
            f"End every session of {user.username}?",
            what="end_sessions",
            **_account_security(user),
        )

    def _unlock(self, request: HttpRequest, user: User, change_url: str) -> HttpResponse:
        reset_sign_in_attempts(username=user.username)
        self.log_change(request, user, "Unlocked sign-in.")
        self.message_user(
            request, f"Unlocked: {user.username} can sign in again at once.", messages.SUCCESS
        )
        return HttpResponseRedirect(change_url)

    @admin.display(description="kind", ordering="system_application")
    def kind_badge(self, user: User) -> str:
        if user.is_system_user:
            return format_html(
                '<span class="badge badge-system" title="System user of {}">System user</span>',
                user.system_application,
            )
        return mark_safe('<span class="badge badge-person">Person</span>')

    @admin.display(description="second factors")
    def second_factors(self, user: User) -> str:
        if user.is_system_user:
            return "—"
        kinds = []
        if getattr(user, "has_totp", False):
            kinds.append("app")
        keys = getattr(user, "key_count", 0)
        if keys:
            kinds.append(f"{keys} key{'s' if keys > 1 else ''}")
        return ", ".join(kinds) or "none"

    @admin.display(description="last sign-in", ordering="last_login")
    def last_sign_in(self, user: User):
        return user.last_login

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, id)
        if user is not None and user.is_system_user:
            # A system user must never be able to sign in, so it never gets a password.
            raise PermissionDenied("System users cannot have a password.")
        return super().user_change_password(request, id, form_url)


def permissions_change(form) -> str | None:
    """What a valid group form would change in permissions, as sudo mode words it (or None)."""
    if "permissions" not in form.changed_data:
        return None
    return f"change the permissions of the group {form.instance.name}"


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """A group's permissions are its members' (is_staff opens the admin to them): only superusers
    change them, after confirming their password, as they do a user's own."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else [*fields, "permissions"]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        confirm = admin_form_confirmation_needed(
            self, request, object_id, action=permissions_change
        )
        if confirm is not None:
            return confirm
        return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(AccountEvent)
class AccountEventAdmin(admin.ModelAdmin):
    """The accounts' audit trail (issue 21): read only, as the tokens' is."""

    list_display = ["at", "user", "event", "ip", "detail"]
    list_filter = ["event"]
    search_fields = ["user__username", "event", "ip", "request_id"]
    list_select_related = ["user"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
