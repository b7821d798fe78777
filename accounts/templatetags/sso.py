"""The identity providers of single sign-on (issue 22) for templates, from OIDC_PROVIDERS: no
query (allauth's `get_providers` also reads its database table of apps, on every page)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

register = template.Library()


@register.simple_tag(takes_context=True)
def sso_providers(
    context: template.Context, process: str = "login", next_url: str = "", linked: bool = False
) -> list:
    """[{"name", "url"}]: where each provider's form posts, to sign in or (process "connect")
    to link it; `next` comes along from the page's own query unless given. `linked`: only the
    providers the signed-in person is linked to (one query), to confirm sudo mode there."""
    request: HttpRequest | None = context.get("request")
    next_url = next_url or (request.GET.get("next", "") if request is not None else "")
    query = {"process": process, **({"next": next_url} if next_url else {})}
    providers = settings.OIDC_PROVIDERS
    if linked:
        from allauth.socialaccount.models import SocialAccount

        user = getattr(request, "user", None)
        ids = set(
            SocialAccount.objects.filter(user_id=getattr(user, "pk", None)).values_list(
                "provider", flat=True
            )
        )
        providers = [provider for provider in providers if provider["id"] in ids]
    return [
        {
            "name": provider["name"],
            "url": reverse("openid_connect_login", kwargs={"provider_id": provider["id"]})
            + "?"
            + urlencode(query),
        }
        for provider in providers
    ]
