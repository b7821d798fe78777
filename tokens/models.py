from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.views.decorators.debug import sensitive_variables

from accounts.models import ISSUE_SERVICE_TOKENS_PERMISSION, User
from common.logs import security_event
from common.metrics import TOKENS_ISSUED, TOKENS_REVOKED, TOKENS_ROTATED
from tokens.domain.expiry import expiry_in_days, lifetime_in_days
from tokens.domain.status import Inactive, TokenFacts, TokenState, evaluate
from tokens.format import display_hint, hash_token, make_token
from tokens.validation.cache import forget_locally
from trustedapps.models import Scope, TokenPolicy, TrustedApplication

DESCRIPTION_MAX_LENGTH = 128
# The revocation reason of a token replaced by rotation.
ROTATED = "rotated"
# The reasons the portal itself records (the owner in the profile, the holder at the revocation
# URL); a reason a person typed is shown as theirs.
REVOKED_BY_OWNER = "Revoked by its owner in the portal"
REVOKED_BY_HOLDER = "revoked by holder"
# Within this of its expiry a token is "expiring soon": a warning colour, an admin filter.
EXPIRING_SOON = timedelta(days=7)


class TokenKind(models.TextChoices):
    PERSONAL = "personal", "Personal access token"
    SERVICE = "service", "Service access token"


class TokenStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class ExpiryNotice(models.TextChoices):
    """The notices before a token expires, in the order they are sent."""

    WEEK = "7d", "Expires in 7 days"
    DAY = "1d", "Expires tomorrow"


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: the row, and the plaintext that exists only in this object."""

    token: ReferenceToken
    plaintext: str

    def __repr__(self) -> str:  # never let the plaintext reach a log or a traceback
        return f"IssuedToken(token={self.token.pk})"


def refuse(field: str | None, message: str, code: str) -> ValidationError:
    """A refusal that names its rule; `field` lets a form show it beside the field it concerns."""
    error = ValidationError(message, code=code)
    return ValidationError({field: error}) if field else error


def unexpired_condition(now: datetime) -> models.Q:
    """Neither revoked nor expired at `now`, as a condition (for filters and filtered counts)."""
    return models.Q(revoked_at__isnull=True) & (
        models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
    )


def live_token_count(application: str = "pk", now: datetime | None = None) -> models.Expression:
    """The number of an application's tokens neither revoked nor expired, for `annotate()`.

    `application` names the outer query's application id. Live = unrevoked minus
    unrevoked-but-expired: two correlated counts, each an index-only scan of
    token_app_unrevoked. A join with GROUP BY walked every token, and the planner turned
    "expires_at IS NULL OR > now" into a bitmap scan of the table (1.7 s on a million tokens;
    this takes milliseconds).
    """

    def count(**conditions) -> models.Expression:
        tokens = ReferenceToken.objects.filter(
            application=models.OuterRef(application), revoked_at__isnull=True, **conditions
        )
        n = tokens.order_by().values("application").annotate(n=models.Count("*")).values("n")
        return Coalesce(models.Subquery(n), 0)

    return count() - count(expires_at__lte=now or timezone.now())


class ReferenceTokenQuerySet(models.QuerySet["ReferenceToken"]):
    def matching(self, plaintext: str) -> ReferenceTokenQuerySet:
        """The token whose plaintext this is (found through its hash), or nothing."""
        return self.filter(token_hash=hash_token(plaintext))

    def with_facts(self) -> ReferenceTokenQuerySet:
        """Everything `ReferenceToken.state` reads, for a whole page of tokens in a few queries."""
        app_label, codename = ISSUE_SERVICE_TOKENS_PERMISSION.split(".")
        holds_permission = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).filter(
            models.Q(user=models.OuterRef("user_id"))
            | models.Q(group__user=models.OuterRef("user_id"))
        )
        return (
            self.select_related("user", "application")
            .prefetch_related("scopes", "application__allowed_scopes")
            .annotate(user_holds_admin_permission=models.Exists(holds_permission))
        )

    def personal_of(self, user: User) -> ReferenceTokenQuerySet:
        return self.filter(kind=TokenKind.PERSONAL, user=user)

    def revoked(self) -> ReferenceTokenQuerySet:
        return self.filter(revoked_at__isnull=False)

    def expired(self, now: datetime | None = None) -> ReferenceTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__lte=now or timezone.now())

    def unexpired(self, now: datetime | None = None) -> ReferenceTokenQuerySet:
        """Neither revoked nor expired. The full "active" rule is `tokens.validation.checks`."""
        return self.filter(unexpired_condition(now or timezone.now()))

    def expiring_within(
        self, period: timedelta, now: datetime | None = None
    ) -> ReferenceTokenQuerySet:
        # Both bounds on expires_at (no "IS NULL OR"), so the expires_at index serves them.
        now = now or timezone.now()
        return self.filter(
            revoked_at__isnull=True, expires_at__gt=now, expires_at__lte=now + period
        )

    def unused_since(self, cutoff: datetime) -> ReferenceTokenQuerySet:
        """Live tokens nobody has presented since `cutoff`: candidates for revocation."""
        return self.unexpired().filter(
            models.Q(last_used_at__lt=cutoff)
            | models.Q(last_used_at__isnull=True, created_at__lt=cutoff)
        )

    def dead_before(self, cutoff: datetime) -> ReferenceTokenQuerySet:
        """Tokens revoked, or expired, before `cutoff`: what purging may delete."""
        return self.filter(
            models.Q(revoked_at__lt=cutoff)
            | models.Q(revoked_at__isnull=True, expires_at__lt=cutoff)
        )

    def with_status(self, status: str, now: datetime | None = None) -> ReferenceTokenQuerySet:
        if status == TokenStatus.REVOKED:
            return self.revoked()
        if status == TokenStatus.EXPIRED:
            return self.expired(now)
        return self.unexpired(now)

    def revoke(
        self, *, by: User | None, reason: str = "", ip: str | None = None
    ) -> list[ReferenceToken]:
        """Revoke every token of the queryset not yet revoked; return those it revoked now."""
        now = timezone.now()
        with transaction.atomic():
            tokens = list(self.filter(revoked_at__isnull=True).select_for_update())
            ReferenceToken.objects.filter(pk__in=[t.pk for t in tokens]).update(
                revoked_at=now, revoked_by=by, revocation_reason=reason[:200]
            )
            TokenEvent.objects.bulk_create(
                TokenEvent(
                    token=t,
                    action=TokenEvent.Action.REVOKED,
                    actor=by,
                    ip=ip,
                    detail=reason[:200],
                )
                for t in tokens
            )
            # Announced to every worker by the database; this process forgets at once.
            hashes = [t.token_hash for t in tokens]
            transaction.on_commit(lambda: forget_locally(hashes))
            if tokens:
                transaction.on_commit(lambda: _notices().tokens_revoked(tokens, by, reason))
        for t in tokens:
            security_event(
                "token.revoked",
                token_id=t.pk,
                token_kind=t.kind,
                token_hint=t.hint,
                user_id=t.user_id,
                actor=by.username if by else None,
                reason=reason[:200],
            )
            TOKENS_REVOKED.labels(kind=t.kind).inc()
        return tokens


class ReferenceTokenManager(models.Manager["ReferenceToken"]):
    def issue_personal(
        self,
        *,
        user: User,
        application: TrustedApplication,
        expires_at: datetime,
        scopes: Iterable[Scope] | None = None,
        description: str = "",
        ip: str | None = None,
    ) -> IssuedToken:
        """A PAT acts as `user`, who must be allowed by the application's policy."""
        if user.is_system_user:
            raise refuse(None, "System users cannot have personal tokens.", "system_user")
        if not user.is_active:
            raise refuse(None, f"User {user} is inactive.", "inactive_user")
        if not application.is_enabled:
            raise refuse("application", f"{application.name} is disabled.", "disabled_application")
        if not application.policy_allows_personal(user):
            raise refuse("application", _policy_refusal(application), "policy")
        return self._issue(
            kind=TokenKind.PERSONAL,
            user=user,
            created_by=user,
            application=application,
            expires_at=expires_at,
            scopes=scopes,
            description=description,
            ip=ip,
        )

    def issue_service(
        self,
        *,
        admin: User,
        application: TrustedApplication,
        expires_at: datetime,
        scopes: Iterable[Scope] | None = None,
        description: str = "",
        ip: str | None = None,
    ) -> IssuedToken:
        """A SAT acts as the application's system user, never as the admin who creates it."""
        if not admin.is_instance_admin:
            raise refuse(
                None,
                "Only instance administrators may issue service access tokens "
                "(superusers, or users with the 'Can issue service access tokens' permission).",
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
        return self._issue(
            kind=TokenKind.SERVICE,
            user=system_user,
            created_by=admin,
            application=application,
            expires_at=expires_at,
            scopes=scopes,
            description=description,
            ip=ip,
        )

    @method_decorator(sensitive_variables())
    def rotate(
        self,
        token_id: int,
        *,
        by: User | None,
        ip: str | None = None,
        expires_in_days: int | None = None,
        by_holder: bool = False,
    ) -> IssuedToken:
        """Every rotation comes here (profile, admin, command, API), so its rules hold for all.

        `by_holder`: whoever holds the token asks (the API), which its application may forbid.
        """
        now = timezone.now()
        with transaction.atomic():
            # The lock comes first and the checks read the locked row, never an earlier copy.
            old = (
                self.select_for_update(of=("self",))
                .select_related("user", "application")
                .get(pk=token_id)
            )
            # Who first: whoever may not rotate it learns nothing of its state.
            refusal = old.rotation_refusal(by)
            if refusal:
                raise refuse(None, refusal, "not_allowed")
            reason = old.unusable_reason(now)
            if reason:
                raise refuse(None, f"Token {old.masked} cannot be rotated. {reason}", "not_live")
            if by_holder and not old.application.holders_may_rotate:
                raise refuse(
                    None,
                    f"{old.application.name} does not let its tokens rotate themselves: a "
                    "person can rotate this one in the portal.",
                    "holder_rotation_off",
                )
            expires_at = old.replacement_expiry(now, expires_in_days)
            # Revoked first, then issued: a failure in between rolls both back, and the old token
            # is never left revoked without a replacement.
            self.filter(pk=old.pk).update(revoked_at=now, revoked_by=by, revocation_reason=ROTATED)
            plaintext = make_token()
            new = self.create(
                kind=old.kind,
                user=old.user,
                application=old.application,
                # Whoever is responsible for the token stays so (its notices go to them); who
                # rotated it is the rotation event's actor.
                created_by=old.created_by,
                description=old.description,
                token_hash=hash_token(plaintext),
                hint=display_hint(plaintext),
                created_at=now,
                expires_at=expires_at,
                rotated_from=old,
            )
            new.scopes.set(old.kept_scopes())
            TokenEvent.objects.create(
                token=old,
                new_token=new,
                action=TokenEvent.Action.ROTATED,
                actor=by,
                ip=ip,
                detail=f"Rotated: {old.masked} replaced by {new.masked}",
            )
            old.revoked_at, old.revoked_by, old.revocation_reason = now, by, ROTATED
            transaction.on_commit(lambda: _notices().token_rotated(old, new, by))
        security_event(
            "token.rotated",
            token_id=old.pk,
            new_token_id=new.pk,
            token_kind=old.kind,
            token_hint=old.hint,
            new_token_hint=new.hint,
            user_id=old.user_id,
            actor=by.username if by else None,
        )
        TOKENS_ROTATED.labels(kind=old.kind).inc()
        return IssuedToken(token=new, plaintext=plaintext)

    # Error reports (DEBUG pages, mails to ADMINS) show no local of this frame: one is the token.
    @method_decorator(sensitive_variables())
    def _issue(
        self,
        *,
        kind: str,
        user: User,
        created_by: User,
        application: TrustedApplication,
        expires_at: datetime,
        scopes: Iterable[Scope] | None,
        description: str,
        ip: str | None,
    ) -> IssuedToken:
        now = timezone.now()
        description = description.strip()
        if len(description) > DESCRIPTION_MAX_LENGTH:
            raise refuse(
                "description",
                f"A description has at most {DESCRIPTION_MAX_LENGTH} characters.",
                "description_too_long",
            )
        granted = _granted_scopes(application, scopes)
        _check_expiry(application, expires_at, now)
        plaintext = make_token()
        with transaction.atomic():
            token = self.create(
                kind=kind,
                user=user,
                application=application,
                created_by=created_by,
                description=description,
                token_hash=hash_token(plaintext),
                hint=display_hint(plaintext),
                created_at=now,
                expires_at=expires_at,
            )
            token.scopes.set(granted)
            TokenEvent.objects.create(
                token=token, action=TokenEvent.Action.ISSUED, actor=created_by, ip=ip
            )
            if kind == TokenKind.PERSONAL:
                transaction.on_commit(lambda: _notices().token_created(token))
        security_event(
            "token.issued",
            token_id=token.pk,
            token_kind=kind,
            token_hint=token.hint,
            user_id=user.pk,
            application=application.application_uri,
            actor=created_by.username,
        )
        TOKENS_ISSUED.labels(kind=kind).inc()
        return IssuedToken(token=token, plaintext=plaintext)


def _notices():
    # The notices module reads these models; imported when first needed, not at module level.
    from tokens.domain import notices

    return notices


def _policy_refusal(application: TrustedApplication) -> str:
    if application.token_policy == "none":
        return f"{application.name} does not allow reference tokens (policy 'none')."
    return f"Only administrators may issue tokens for {application.name}."


def _granted_scopes(application: TrustedApplication, requested: Iterable[Scope] | None) -> list:
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


def _check_expiry(application: TrustedApplication, expires_at: datetime | None, now: datetime):
    if expires_at is None:
        raise refuse("expires_at", "A token needs an expiry date.", "expiry_required")
    if expires_at <= now:
        raise refuse("expires_at", "The expiry must be in the future.", "expiry_in_past")
    longest = application.max_token_lifetime
    if expires_at > now + longest:
        raise refuse(
            "expires_at",
            f"{application.name} allows tokens of at most {longest.days} days.",
            "expiry_too_far",
        )


class ReferenceToken(models.Model):
    kind = models.CharField(max_length=16, choices=TokenKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reference_tokens",
        db_index=False,  # the (user, created_at) index serves lookups by user
        help_text="The user the token acts as: its owner, or the application's system user.",
    )
    application = models.ForeignKey(
        TrustedApplication,
        on_delete=models.PROTECT,
        related_name="tokens",
        db_index=False,  # the (application, created_at) index serves lookups by application
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    scopes = models.ManyToManyField(Scope, related_name="+")
    # SHA-256 of the token; the token itself is never stored.
    token_hash = models.CharField(max_length=64, editable=False)
    hint = models.CharField(max_length=8, editable=False, help_text="The token's last characters.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    revocation_reason = models.CharField(max_length=200, blank=True, editable=False)
    # The token this one replaced; its reverse, `rotated_to`, is the replacement. One-to-one, so
    # the database itself refuses a second replacement of the same token.
    rotated_from = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rotated_to",
        editable=False,
    )
    # The last expiry notice sent (notify_expiring_tokens): its stage, for exactly-once sending.
    expiry_notice = models.CharField(
        max_length=8, choices=ExpiryNotice.choices, blank=True, default="", editable=False
    )

    objects = ReferenceTokenManager.from_queryset(ReferenceTokenQuerySet)()

    class Meta:
        ordering = ["-created_at", "-id"]
        # A UniqueConstraint rather than unique=True: on PostgreSQL the latter also builds a
        # second (varchar_pattern_ops) index that the planner may pick for the hash lookup.
        constraints = [models.UniqueConstraint(fields=["token_hash"], name="unique_token_hash")]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="token_user_created"),
            models.Index(fields=["application", "-created_at"], name="token_app_created"),
            models.Index(fields=["expires_at"], name="token_expires"),
            # The admin's token list on a million rows (issue 5): its default order, its kind and
            # "revoked" filters, and the hint search. None covers last_used_at, which the
            # validation path rewrites: an index on it would turn those into non-HOT updates.
            models.Index(fields=["-created_at", "-id"], name="token_created"),
            models.Index(fields=["kind", "-created_at", "-id"], name="token_kind_created"),
            models.Index(
                fields=["-created_at", "-id"],
                name="token_revoked_created",
                condition=models.Q(revoked_at__isnull=False),
            ),
            models.Index(fields=["hint"], name="token_hint"),
            # Counts each application's live tokens from the index alone.
            models.Index(
                fields=["application", "expires_at"],
                name="token_app_unrevoked",
                condition=models.Q(revoked_at__isnull=True),
            ),
        ]
        permissions = [("issue_service_tokens", "Can issue service access tokens")]

    def __str__(self) -> str:
        return f"…{self.hint} ({self.description or self.get_kind_display()})"

    @property
    def masked(self) -> str:
        return f"enrt_…{self.hint}"

    def expires_soon(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return (
            self.state_at(now).is_active
            and self.expires_at is not None
            and self.expires_at - now <= EXPIRING_SOON
        )

    @cached_property
    def state(self) -> TokenState:
        """Usable now or not, and why: what the validation URL would answer its holder."""
        return self.state_at(timezone.now())

    def state_at(self, now: datetime) -> TokenState:
        return evaluate(self.facts(), now)

    def facts(self) -> TokenFacts:
        """The facts of the active rule, from this row, its user and its application.

        Costs no query on a token from `with_facts()`; otherwise a few.
        """
        user, application = self.user, self.application
        allowed = {scope.pk for scope in application.allowed_scopes.all()}
        holds_permission = getattr(self, "user_holds_admin_permission", None)
        if holds_permission is None:
            holds_permission = (
                self.kind == TokenKind.PERSONAL
                and application.token_policy == TokenPolicy.ADMINISTRATORS_ONLY
                and not user.is_superuser
                and User.objects.holds_admin_permission(user.pk)
            )
        return TokenFacts(
            token_id=self.pk,
            kind=self.kind,
            user_id=user.pk,
            application_id=application.pk,
            created_at=self.created_at,
            expires_at=self.expires_at,
            revoked_at=self.revoked_at,
            last_used_at=self.last_used_at,
            username=user.username,
            user_is_active=user.is_active,
            user_is_superuser=user.is_superuser,
            user_holds_admin_permission=holds_permission,
            user_system_application_id=user.system_application_id,
            application_uri=application.application_uri,
            application_enabled=application.is_enabled,
            token_policy=application.token_policy,
            application_has_system_user=application.has_system_user,
            scopes=tuple(scope.name for scope in self.scopes.all() if scope.pk in allowed),
        )

    def unusable_reason(self, now: datetime | None = None) -> str | None:
        """Why this token cannot be used (or rotated) now, in a sentence; None when it can.

        The one status rule decides (`state_at`); this only words it for a person.
        """
        state = self.state_at(now or timezone.now())
        if state.is_active:
            return None
        # From the data, never from the free-text reason: "rotated" may be anyone's words.
        if state.reason == Inactive.REVOKED and self.replacement is not None:
            return "It was already rotated: use (or rotate) its replacement."
        if state.reason == Inactive.REVOKED:
            return "It is revoked."
        if state.reason == Inactive.EXPIRED:
            return "It has expired."
        return f"It is suspended: {state.explanation}."

    def rotation_refusal(self, by: User | None) -> str | None:
        """Why `by` may not rotate this token, in a sentence; None when they may.

        Whoever rotates is shown the new token, so a personal token is rotated only by its owner:
        nobody else may ever hold a credential that acts as them (an administrator revokes it
        instead). A service token is rotated by those who may issue one. `by` None is the token
        itself (its holder, through the API) or a command on the server.
        """
        if by is None:
            return None
        if self.kind == TokenKind.PERSONAL:
            if by.pk == self.user_id:
                return None
            return (
                f"Token {self.masked} is a personal access token: only its owner may rotate it, "
                "so that nobody else ever holds a token acting as them. Revoke it instead."
            )
        if by.is_instance_admin:
            return None
        return (
            f"Token {self.masked} is a service access token: only instance administrators "
            "(superusers, or users with the 'Can issue service access tokens' permission) may "
            "rotate it."
        )

    def kept_scopes(self) -> list[Scope]:
        """Its scopes that its application still allows: what a replacement carries."""
        allowed = {scope.pk for scope in self.application.allowed_scopes.all()}
        return [scope for scope in self.scopes.all() if scope.pk in allowed]

    @property
    def lifetime_days(self) -> int | None:
        """The lifetime it was given, in whole days (domain/expiry.py); None: it never expires."""
        if self.expires_at is None:
            return None
        return max(1, lifetime_in_days(self.created_at, self.expires_at))

    def replacement_expiry(self, now: datetime, days: int | None = None) -> datetime:
        """When its replacement stops: 00:00 UTC, `days` days from today (by default as many as
        this token was given). A rotation never outlives what the owner chose, so more days than
        this token was given, or than its application allows, are refused. No application allows
        a token that never expires (its longest lifetime always applies): one that never expired
        is replaced by one with the application's default lifetime, or `days`."""
        longest = self.application.max_token_lifetime.days
        given = self.lifetime_days
        if days is None:
            days = min(given or self.application.default_token_lifetime.days, longest)
        elif days > longest:
            raise refuse(
                "expires_at",
                f"{self.application.name} allows tokens of at most {longest} days.",
                "expiry_too_far",
            )
        elif given is not None and days > given:
            unit = "day" if given == 1 else "days"
            raise refuse(
                "expires_at",
                f"A rotation never outlives the token it replaces: {self.masked} was given "
                f"{given} {unit}, so its replacement may have at most {given}.",
                "longer_than_original",
            )
        return expiry_in_days(days, now)

    def rotate(
        self,
        *,
        by: User | None,
        ip: str | None = None,
        expires_in_days: int | None = None,
    ) -> IssuedToken:
        """Replace this live token by a new one with the same facts; shown once, old one revoked.

        `by` is the person who rotates (None: the token itself, or a command). Both happen in
        one transaction, the old row locked first: of two rotations at once, the second waits,
        then finds the token revoked and is refused, so exactly one new token comes out.
        """
        issued = ReferenceToken.objects.rotate(
            self.pk, by=by, ip=ip, expires_in_days=expires_in_days
        )
        self.refresh_from_db(fields=["revoked_at", "revoked_by", "revocation_reason"])
        self.__dict__.pop("state", None)
        return issued

    @property
    def replacement(self) -> ReferenceToken | None:
        """The token that replaced this one by rotation, if any."""
        try:
            return self.rotated_to
        except ReferenceToken.DoesNotExist:
            return None

    def revoke(self, *, by: User | None, reason: str = "", ip: str | None = None) -> bool:
        """Revoke now; False (and nothing recorded) when it was revoked already."""
        revoked = ReferenceToken.objects.filter(pk=self.pk).revoke(by=by, reason=reason, ip=ip)
        self.refresh_from_db(fields=["revoked_at", "revoked_by", "revocation_reason"])
        self.__dict__.pop("state", None)
        return bool(revoked)


class TokenEventQuerySet(models.QuerySet["TokenEvent"]):
    def of_token(self, token: ReferenceToken) -> TokenEventQuerySet:
        """Its own events, and the rotation that made it (recorded on the token it replaced)."""
        return self.filter(models.Q(token=token) | models.Q(new_token=token))


class TokenEvent(models.Model):
    """The audit trail of a token. Never holds the token itself."""

    class Action(models.TextChoices):
        ISSUED = "issued", "Issued"
        REVOKED = "revoked", "Revoked"
        ROTATED = "rotated", "Rotated"

    token = models.ForeignKey(ReferenceToken, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the holder of the token acted, or a command did.",
    )
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField("from address", null=True, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    # For a rotation: the replacement (`token` is the token it replaced).
    new_token = models.ForeignKey(
        ReferenceToken,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the partial index below serves the lookups by replacement
    )

    objects = TokenEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["token", "-at"], name="event_token_at"),
            models.Index(
                fields=["new_token"],
                name="event_new_token",
                condition=models.Q(new_token__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.token} at {self.at:%Y-%m-%d %H:%M}"
