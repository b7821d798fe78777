"""What a provisioning client does to people: the one place that writes them for SCIM.

Deactivating (`active: false`) and deleting both leave the person inactive, and the status rule
(tokens/domain/status.py, "user inactive") then refuses every token acting as them at once; on
PostgreSQL the user table's trigger tells every worker's cache. Deleting is soft: the person stays,
inactive, hidden from SCIM, with their tokens and audit trail, so an admin can still see who held
what (a hard delete would cascade their tokens and events away). Each change writes a
ProvisioningEvent naming the client, and when a person leaves, OPERATIONS_EMAIL learns which
service tokens they created: those act for an application, keep working, and need a new owner.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from common.emails import send
from common.logs import security_event
from scim.models import ProvisionedUser, ProvisioningEvent, ScimClient
from scim.protocol import ScimError
from tokens.models import ReferenceToken, TokenKind

Action = ProvisioningEvent.Action
_USER_FIELDS = ("username", "first_name", "last_name", "email", "is_active")


def _conflict(name: str) -> ScimError:
    return ScimError(f"The userName “{name}” is taken.", "uniqueness", status=409)


def _check_unique(name: str, user: User | None = None) -> None:
    others = User.objects.filter(username__iexact=name)
    if user is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise _conflict(name)


def create(client: ScimClient, changes: dict[str, Any], ip: str | None) -> User:
    """A new person, without a usable password: they sign in through their identity provider."""
    _check_unique(changes["username"])
    try:
        with transaction.atomic():
            user = User(**{field: changes[field] for field in _USER_FIELDS if field in changes})
            user.set_unusable_password()
            user.save()
            ProvisionedUser.objects.create(
                user=user, client=client, external_id=changes.get("external_id", "")
            )
            _record(client, user, Action.CREATED, ip)
            if not user.is_active:
                _record(client, user, Action.DEACTIVATED, ip)
    except IntegrityError:
        # Another request made the same userName between the check and the insert.
        raise _conflict(changes["username"]) from None
    return user


def update(client: ScimClient, user: User, changes: dict[str, Any], ip: str | None) -> User:
    """Apply `changes`; a change of `active` is a deactivation (or reactivation) of its own."""
    if "username" in changes and changes["username"] != user.username:
        _check_unique(changes["username"], user)
    was_active = user.is_active
    changed = [f for f in _USER_FIELDS if f in changes and getattr(user, f) != changes[f]]
    try:
        with transaction.atomic():
            for field in changed:
                setattr(user, field, changes[field])
            if changed:
                user.save(update_fields=changed)
            provisioning = _provisioning_of(user, client)
            if "external_id" in changes:
                provisioning.external_id = changes["external_id"]
            provisioning.updated_at = timezone.now()
            provisioning.save()
            described = [f for f in changed if f != "is_active"]
            if described or "external_id" in changes:
                _record(client, user, Action.UPDATED, ip, ", ".join(described or ["external id"]))
            if was_active and not user.is_active:
                _left(client, user, Action.DEACTIVATED, ip)
            elif user.is_active and not was_active:
                _record(client, user, Action.REACTIVATED, ip)
    except IntegrityError:
        raise _conflict(changes["username"]) from None
    return user


def delete(client: ScimClient, user: User, ip: str | None) -> None:
    """Soft delete: inactive at once, and out of SCIM's sight from now on."""
    with transaction.atomic():
        provisioning = _provisioning_of(user, client)
        provisioning.deleted_at = provisioning.updated_at = timezone.now()
        provisioning.save()
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        _left(client, user, Action.DELETED, ip)


def _provisioning_of(user: User, client: ScimClient) -> ProvisionedUser:
    # People made before SCIM (or in the admin) get theirs the first time a client touches them.
    provisioning, _ = ProvisionedUser.objects.get_or_create(user=user, defaults={"client": client})
    user.provisioning = provisioning
    return provisioning


def _record(
    client: ScimClient, user: User, action: str, ip: str | None, detail: str = ""
) -> ProvisioningEvent:
    security_event(f"scim.user_{action}", client=client.name, user=user.username)
    return ProvisioningEvent.objects.create(
        user=user, client=client, client_name=client.name, action=action, ip=ip, detail=detail
    )


def _left(client: ScimClient, user: User, action: str, ip: str | None) -> None:
    """The person is gone: recorded, and operations told which service tokens lost an owner."""
    orphans = list(
        ReferenceToken.objects.filter(kind=TokenKind.SERVICE, created_by=user)
        .live()
        .select_related("application")
    )
    detail = f"{len(orphans)} service token(s) created by them need an owner" if orphans else ""
    _record(client, user, action, ip, detail)
    if orphans and settings.OPERATIONS_EMAIL:
        context = {
            "person": user,
            "client": client.name,
            "action": "deleted" if action == Action.DELETED else "deactivated",
            "tokens": orphans,
            "where": _where(),
        }
        transaction.on_commit(
            lambda: send(
                "service-tokens-need-owner", context, [settings.OPERATIONS_EMAIL], quiet=True
            )
        )


def _where() -> str:
    path = reverse("admin:tokens_referencetoken_changelist") + "?kind__exact=service"
    base = settings.PORTAL_BASE_URL
    return f"{base}{path}" if base else "the portal's administration (Reference tokens)"
