"""Profile → Security → Security log (issue 21): one's own account events (accounts.AccountEvent)
and the events of one's personal tokens (TokenEvent), newest first. Here, in tokens, because it
reads both apps (accounts never imports tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.http import SignedInRequest
from accounts.models import AccountEvent
from tokens.models import TokenEvent

# Entries the log shows (the newest).
LOG_LENGTH = 100


@dataclass(frozen=True)
class Entry:
    at: datetime
    what: str
    detail: str
    ip: str | None


@login_required
@require_GET
def security_log(request: SignedInRequest) -> HttpResponse:
    account = AccountEvent.objects.filter(user=request.user)[:LOG_LENGTH]
    tokens = TokenEvent.objects.filter(token__user=request.user).select_related("token")
    rows = [Entry(e.at, e.event, e.detail, e.ip) for e in account] + [
        Entry(e.at, f"token.{e.action}", f"{e.token.description} ({e.token.masked})", e.ip)
        for e in tokens[:LOG_LENGTH]
    ]
    rows.sort(key=lambda row: row.at, reverse=True)
    return render(request, "accounts/security_log.html", {"events": rows[:LOG_LENGTH]})
