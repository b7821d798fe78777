"""Who may issue, hold and rotate which token: the rules and their refusals.

Whether a person is an instance administrator is the accounts app's to say
(`User.is_instance_admin`); whether an application's policy allows a kind of token is its own
(`TokenPolicy`). This module applies both to one request and words the refusal.
"""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User
from tokens.domain.refusal import refuse
from tokens.models import ReferenceToken, TokenKind
from trustedapps.models import Scope, TokenPolicy, TrustedApplication

# Who the instance administrators are, as the refusals say it.
ADMINISTRATORS = "superusers, or users with the 'Can issue service access tokens' permission"


def check_personal(user: User, application: TrustedApplication, *, approved: bool = False) -> None:
    """Refuse unless `user` may hold a personal token of `application`.

    `approved`: issued for an approved token request (approvals.domain), the only way to a
    token of an application whose policy needs approval."""
    if user.is_system_user:
        raise refuse(None, "System users cannot have personal tokens.", "system_user")
    if not user.is_active:
        raise refuse(None, f"User {user} is inactive.", "inactive_user")
    if not application.is_enabled:
        raise refuse("application", f"{application.name} is disabled.", "disabled_application")
    if not application.policy_allows_personal(user):
        if application.token_policy == TokenPolicy.NONE:
            message = f"{application.name} does not allow tokens (policy 'none')."
        else:
            message = f"Only administrators may issue tokens for {application.name}."
        raise refuse("application", message, "policy")
    if TokenPolicy(application.token_policy).needs_approval and not approved:
        raise refuse(
            "application",
            f"Tokens for {application.name} are given on request: ask for one, and an "
            "administrator approves it.",
            "needs_approval",
        )


def service_user(admin: User, application: TrustedApplication) -> User:
    """The system user a service token of `application` acts as, if `admin` may issue one."""
    if not admin.is_instance_admin:
        raise refuse(
            None,
            f"Only instance administrators may issue service access tokens ({ADMINISTRATORS}).",
            "not_admin",
        )
    reason = application.service_tokens_refusal()
    if reason:
        raise refuse(
            "application",
            f"{application.name} cannot have service access tokens: {reason}",
            "no_service_tokens",
        )
    system_user = User.objects.filter(system_application=application, is_active=True).first()
    if system_user is None:
        raise refuse("application", f"{application.name} has no active system user.", "policy")
    return system_user


def granted_scopes(application: TrustedApplication, requested: Iterable[Scope] | None) -> list:
    """The scopes a new token gets: those asked for (all of the application's when none are),
    each of which the application must allow."""
    allowed = list(application.allowed_scopes.all())
    if not allowed:
        raise refuse("scopes", f"{application.name} allows no scopes.", "no_scopes")
    requested = list(requested or [])
    if not requested:
        return allowed
    foreign = sorted({s.name for s in requested} - {s.name for s in allowed})
    if foreign:
        raise refuse(
            "scopes",
            f"{application.name} does not allow the scope(s): {', '.join(foreign)}.",
            "foreign_scope",
        )
    return requested


def holder_rotation_refusal(token: ReferenceToken) -> str | None:
    """Why the holder of `token` may not rotate it (POST /api/tokens/self/rotate), or None."""
    if token.application.holders_may_rotate:
        return None
    return (
        f"{token.application.name} does not let its tokens rotate themselves: a person can "
        "rotate this one in the portal."
    )


def rotation_refusal(token: ReferenceToken, by: User | None) -> str | None:
    """Why `by` may not rotate `token`, in a sentence; None when they may.

    Whoever rotates is shown the new token, so a personal token is rotated only by its owner:
    nobody else may ever hold a credential that acts as them (an administrator revokes it
    instead). A service token is rotated by those who may issue one. `by` None is the token
    itself (its holder, through the API) or a command on the server.
    """
    if by is None:
        return None
    if token.kind == TokenKind.PERSONAL:
        if by.pk == token.user_id:
            return None
        return (
            f"Token {token.masked} is a personal access token: only its owner may rotate it, "
            "so that nobody else ever holds a token acting as them. Revoke it instead."
        )
    if by.is_instance_admin:
        return None
    return (
        f"Token {token.masked} is a service access token: only instance administrators "
        f"({ADMINISTRATORS}) may rotate it."
    )
