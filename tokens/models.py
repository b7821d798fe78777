"""Reference tokens and their audit trail: the data, its reads, and the questions about one row.

Tokens are written (issued, rotated, revoked) by `tokens.domain.lifecycle` alone; whether one is
active is `tokens.domain.status`'s to say, from the facts `tokens.validation.lookup` reads.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.db.models.query import ModelIterable
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.models import User
from tokens.domain.expiry import lifetime_in_days
from tokens.domain.status import Inactive, TokenFacts, TokenState, evaluate
from tokens.format import hash_token
from tokens.validation.lookup import facts_by_id
from trustedapps.models import Scope, TrustedApplication

DESCRIPTION_MAX_LENGTH = 128
# The revocation reason of a token replaced by rotation.
ROTATED = "rotated"
# The reasons the portal itself records (the owner in the profile, the holder at the revocation
# URL); a reason a person typed is shown as theirs.
REVOKED_BY_OWNER = "Revoked by its owner in the portal"
REVOKED_BY_HOLDER = "revoked by holder"
# The revocation reason of a token reported as leaked (tokens.leaks): by a secret scanner
# (GitHub, GitLab), by whoever found it, or by `scan_for_tokens --revoke`.
LEAKED = "leaked"
# The longest URL of a leak report that is kept (GitHub's and GitLab's are far shorter).
LEAK_URL_MAX_LENGTH = 2000
# The revocation reason of a token revoked for going unused (issue 23: revoke_unused_tokens).
UNUSED = "unused"
# Within this of its expiry a token is "expiring soon": a warning colour, an admin filter.
EXPIRING_SOON = timedelta(days=7)


class TokenKind(models.TextChoices):
    PERSONAL = "personal", "Personal access token"
    SERVICE = "service", "Service access token"


def made_to_outlive_the_warning(created_at: datetime, expires_at: datetime) -> bool:
    """Whether a token lives longer than the "expires soon" warning: one made to last a week or
    less was meant to end soon, so it never raises the warning (issue 20, defect 17)."""
    return expires_at - created_at > EXPIRING_SOON


class TokenStatus(models.TextChoices):
    """What a token's own dates say: the admin's status filter. Whether a live token is active
    (its user, application, policy and scopes) is the status rule's to say (`state`)."""

    LIVE = "live", "Current"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


def live_condition(now: datetime) -> models.Q:
    """Live (neither revoked nor expired) at `now`, as a condition for filters and counts."""
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


class _WithFacts(ModelIterable):
    """Tokens as Django makes them, then the facts of all of them in one query."""

    def __iter__(self):
        tokens = list(super().__iter__())
        facts = facts_by_id([token.pk for token in tokens])
        for token in tokens:
            if token.pk in facts:
                token.__dict__["facts"] = facts[token.pk]
            yield token


class ReferenceTokenQuerySet(models.QuerySet["ReferenceToken"]):
    def matching(self, plaintext: str) -> ReferenceTokenQuerySet:
        """The token whose plaintext this is (found through its hash), or nothing."""
        return self.filter(token_hash=hash_token(plaintext))

    def with_facts(self) -> ReferenceTokenQuerySet:
        """The tokens with the facts `ReferenceToken.state` reads: one more query for a whole
        page of them, however long (the validation URL's own, by the tokens' ids)."""
        clone = self.all()
        clone._iterable_class = _WithFacts
        return clone

    def personal_of(self, user: User) -> ReferenceTokenQuerySet:
        return self.filter(kind=TokenKind.PERSONAL, user=user)

    def revoked(self) -> ReferenceTokenQuerySet:
        return self.filter(revoked_at__isnull=False)

    def expired(self, now: datetime | None = None) -> ReferenceTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__lte=now or timezone.now())

    def live(self, now: datetime | None = None) -> ReferenceTokenQuerySet:
        """Neither revoked nor expired. Whether active too is `tokens.domain.status`'s to say."""
        return self.filter(live_condition(now or timezone.now()))

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
        return self.live().filter(
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
        return self.live(now)


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
    # Issue 20: an expired or revoked token its owner removed from their list; the row and its
    # events stay, for the audit and the admin.
    removed_from_list_at = models.DateTimeField(null=True, blank=True, editable=False)
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
    # When the rotation chain this token belongs to began: its first token's creation (issue 23:
    # a longest total age of a chain). Empty for tokens issued before it was recorded: their own.
    chain_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The address ranges it may be used from (issue 23): normalised CIDR ranges separated by a
    # space, "" for anywhere; and the last address refused for being outside them.
    # db_default: tokens inserted by plain SQL (the benchmark's seeds) are unrestricted.
    allowed_ranges = models.CharField(
        max_length=2000, blank=True, default="", db_default="", editable=False
    )
    last_refused_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    last_refused_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The last expiry reminder sent (notify_expiring_tokens): its stage in days before expiry (0:
    # on expiry), claimed by a conditional update, so that each stage is sent once (issue 23).
    expiry_reminder_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    # When its owner was told it would be revoked for going unused (revoke_unused_tokens); a
    # warning older than its last use no longer counts.
    unused_warned_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ReferenceTokenQuerySet.as_manager()

    class Meta:
        # The portal's word for it (docs/glossary.md): a token, personal or service.
        verbose_name = "token"
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
            and made_to_outlive_the_warning(self.created_at, self.expires_at)
        )

    @cached_property
    def state(self) -> TokenState:
        """Usable now or not, and why: what the validation URL would answer its holder."""
        return self.state_at(timezone.now())

    def state_at(self, now: datetime) -> TokenState:
        return evaluate(self.facts, now)

    @cached_property
    def facts(self) -> TokenFacts:
        """What the status rule reads about it, as the validation URL reads it (one query; none
        for a token of a `with_facts()` queryset)."""
        found = facts_by_id([self.pk]).get(self.pk)
        if found is None:
            raise ReferenceToken.DoesNotExist(f"Token {self.pk} no longer exists.")
        return found

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

    @property
    def lifetime_days(self) -> int | None:
        """The lifetime it was given, in whole days (domain/expiry.py); None: it never expires."""
        if self.expires_at is None:
            return None
        return max(1, lifetime_in_days(self.created_at, self.expires_at))

    @property
    def range_list(self) -> list[str]:
        """Its address ranges (issue 23); empty: any address."""
        return self.allowed_ranges.split()

    @property
    def replacement(self) -> ReferenceToken | None:
        """The token that replaced this one by rotation, if any."""
        try:
            return self.rotated_to
        except ReferenceToken.DoesNotExist:
            return None

    def show_revocation(self) -> None:
        """After `lifecycle` revoked it (and set this copy's revocation fields): its state follows,
        without reading its facts again, of which only the revocation changed."""
        self.__dict__.pop("state", None)
        facts = self.__dict__.get("facts")
        if facts is not None:
            self.__dict__["facts"] = dataclasses.replace(facts, revoked_at=self.revoked_at)


class TokenEventQuerySet(models.QuerySet["TokenEvent"]):
    def of_token(self, token: ReferenceToken) -> TokenEventQuerySet:
        """Its own events, and the rotation that made it (recorded on the token it replaced)."""
        return self.filter(models.Q(token=token) | models.Q(new_token=token))


class TokenEvent(models.Model):
    """The audit trail of a token. Never holds the token itself."""

    class Action(models.TextChoices):
        ISSUED = "issued", "Created"
        REVOKED = "revoked", "Revoked"
        ROTATED = "rotated", "Rotated"

    class LeakSource(models.TextChoices):
        """Who reported a token as leaked (a revocation with the reason `leaked`)."""

        GITHUB = "github", "GitHub secret scanning"
        GITLAB = "gitlab", "GitLab token revocation"
        HOLDER = "holder", "whoever held it"
        SCAN = "scan", "scan_for_tokens"

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
    # A leak report (reason `leaked`): who reported it, and where it was seen.
    leak_source = models.CharField(
        max_length=16, choices=LeakSource.choices, blank=True, default="", editable=False
    )
    leak_url = models.URLField(
        "leaked at", max_length=LEAK_URL_MAX_LENGTH, blank=True, default="", editable=False
    )

    objects = TokenEventQuerySet.as_manager()

    class Meta:
        verbose_name = "audit event"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["token", "-at"], name="event_token_at"),
            models.Index(
                fields=["new_token"],
                name="event_new_token",
                condition=models.Q(new_token__isnull=False),
            ),
            # The dashboard's latest leak reports, newest first, without reading the others.
            models.Index(
                fields=["-at", "-id"], name="event_leak_at", condition=~models.Q(leak_source="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.token} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def summary(self) -> str:
        """The event in words, its detail never repeating its action: "Revoked: lost laptop",
        "Revoked by its owner in the portal", never "Revoked: Revoked by ..." or "Rotated:
        Rotated: ..." (details written before issue 20 began with the action)."""
        label = self.get_action_display()
        detail = self.detail.strip()
        if detail.lower().startswith(label.lower()):
            rest = detail[len(label) :]
            if not rest.lstrip().startswith(":"):
                return detail  # a sentence that begins with the action: "Revoked by ..."
            detail = rest.lstrip(" :")
        return f"{label}: {detail}" if detail else label
