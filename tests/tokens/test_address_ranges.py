"""Address ranges per token (issue 23): checked at the validation URL against the client_ip the
resource server reports (none: refused, failing closed) and at /api/tokens/self against the
caller's address (behind declared proxies, the forwarded one); in memory on the cached path; an
application may require them of its service tokens; the token's page shows them and the last
address refused."""

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from tests.helpers import FORM, basic, in_days, signed_in
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.domain.ranges import normalised
from tokens.models import ReferenceToken
from tokens.validation import refusals
from tokens.validation.cache import FactsCache
from tokens.validation.checks import check_for_resource_server

RANGES = "203.0.113.0/24\n2001:db8::/32"


@pytest.fixture(autouse=True)
def every_refusal_written():
    refusals.forget()


@pytest.fixture
def restricted(alice, sync_app):
    """Alice's token for her office networks only."""
    return lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(30), allowed_ranges=RANGES
    )


def introspect(token: str, server, client_ip: str | None = None) -> bool:
    body = f"token={token}" + (f"&client_ip={client_ip}" if client_ip is not None else "")
    response = Client().post(
        "/connect/introspect",
        body,
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(server.client_id, server.secret),
    )
    assert response.status_code == 200
    return response.json()["active"]


def test_ranges_are_stored_normalised():
    assert normalised(" 203.0.113.0/24, 2001:DB8::/32\n10.1.2.3 ") == (
        "203.0.113.0/24 2001:db8::/32 10.1.2.3/32"
    )
    assert normalised("") == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.1/24", "10.0.0.1/24 has bits set past its prefix: did you mean 10.0.0.0/24?"),
        ("example.com", "“example.com” is not an address range"),
        ("2001:db8::/129", "“2001:db8::/129” is not an address range"),
    ],
)
def test_a_bad_range_is_refused_with_what_was_wrong(alice, sync_app, text, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        lifecycle.issue_personal(
            user=alice, application=sync_app, expires_at=expiry_in_days(7), allowed_ranges=text
        )
    assert not ReferenceToken.objects.exists()


@pytest.mark.parametrize(
    ("client_ip", "active"),
    [
        ("203.0.113.7", True),
        ("2001:db8::5", True),
        ("::ffff:203.0.113.7", True),  # IPv4 seen through an IPv6 socket
        ("198.51.100.1", False),
        ("2001:db9::1", False),
        ("", False),
        ("not-an-address", False),
        (None, False),  # the resource server sent none: fail closed
    ],
)
def test_the_validation_url_checks_the_reported_client_ip(
    restricted, orders_api, client_ip, active
):
    assert introspect(restricted.plaintext, orders_api, client_ip) is active


def test_a_token_without_ranges_needs_no_address(alice_token, orders_api):
    assert introspect(alice_token.plaintext, orders_api) is True


def test_the_last_refused_address_is_shown_on_the_token_page(alice, restricted, orders_api):
    assert not introspect(restricted.plaintext, orders_api, "198.51.100.1")

    token = ReferenceToken.objects.get(pk=restricted.token.pk)
    assert token.last_refused_ip == "198.51.100.1"
    page = signed_in(alice).get(f"/profile/security/tokens/{token.pk}/").content.decode()
    assert "<code>203.0.113.0/24</code>, <code>2001:db8::/32</code>" in page
    assert "from 198.51.100.1 (outside its ranges)" in page


def test_the_admin_shows_the_ranges_and_the_last_refusal(admin_user, restricted, orders_api):
    introspect(restricted.plaintext, orders_api)  # no address at all

    page = signed_in(admin_user).get(f"/admin/tokens/referencetoken/{restricted.token.pk}/change/")

    content = page.content.decode()
    assert "203.0.113.0/24, 2001:db8::/32" in content
    assert "from no address reported (outside its ranges)" in content


def test_token_self_checks_the_callers_address(restricted):
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {restricted.plaintext}"}
    assert Client().get("/api/tokens/self", REMOTE_ADDR="203.0.113.9", **bearer).status_code == 200
    assert Client().get("/api/tokens/self", REMOTE_ADDR="192.0.2.1", **bearer).status_code == 401


def test_token_self_behind_a_declared_proxy_checks_the_forwarded_address(restricted, behind_nginx):
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {restricted.plaintext}"}

    inside = Client().get(
        "/api/tokens/self", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9", **bearer
    )
    outside = Client().get(
        "/api/tokens/self", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.1", **bearer
    )

    assert (inside.status_code, outside.status_code) == (200, 401)


def test_an_undeclared_proxys_forwarded_address_is_not_believed(restricted, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    response = Client().get(
        "/api/tokens/self",
        REMOTE_ADDR="192.0.2.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_AUTHORIZATION=f"Bearer {restricted.plaintext}",
    )
    assert response.status_code == 401


def test_the_cached_path_checks_the_address_in_memory(
    transactional_db, restricted, orders_api, django_assert_num_queries
):
    # Committed data: inside a transaction the checks neither read nor fill the cache.
    cache = FactsCache(size=10, ttl=60, probe_deadline=3600)
    cache.heard(cache.clock())

    def check(client_ip):
        return check_for_resource_server(
            restricted.plaintext,
            client_id=orders_api.client_id,
            client_secret=orders_api.secret,
            client_ip=client_ip,
            cache=cache,
        )

    assert check("203.0.113.7") is not None  # fills the cache (and records the use)
    with django_assert_num_queries(0):
        assert check("203.0.113.8") is not None
        assert check("2001:db8::1") is not None


def test_rotation_keeps_the_ranges(alice, restricted):
    new = lifecycle.rotate(restricted.token, by=alice).token
    assert new.allowed_ranges == "203.0.113.0/24 2001:db8::/32"


def test_the_profile_form_sets_ranges_and_refuses_bad_ones(alice, sync_app):
    browser = signed_in(alice)
    url = "/profile/security/tokens/new/"

    def create(ranges: str):
        key = re.search(r'name="form_key" value="([^"]+)"', browser.get(url).content.decode())[1]
        return browser.post(
            url,
            {
                "application": sync_app.pk,
                "description": "office only",
                "expires_at": in_days(30),
                "scopes": [sync_app.allowed_scopes.first().pk],
                "allowed_ranges": ranges,
                "form_key": key,
            },
        )

    refused = create("10.0.0.1/8")
    assert "did you mean 10.0.0.0/8?" in refused.content.decode()
    assert create("203.0.113.0/24").status_code == 201
    assert ReferenceToken.objects.get().allowed_ranges == "203.0.113.0/24"


def test_an_application_may_require_ranges_of_its_service_tokens(admin_user, sync_app):
    sync_app.service_tokens_need_ranges = True
    sync_app.save()

    with pytest.raises(CommandError, match="Sync requires address ranges of its service tokens"):
        call_command(
            "issue_token", "service", "--as-admin", admin_user.username, "--app",
            sync_app.application_uri, stdout=io.StringIO(),
        )  # fmt: skip
    out = io.StringIO()
    call_command(
        "issue_token", "service", "--as-admin", admin_user.username, "--app",
        sync_app.application_uri, "--ranges", "192.0.2.0/24", stdout=out,
    )  # fmt: skip
    assert ReferenceToken.objects.get().allowed_ranges == "192.0.2.0/24"


def test_a_service_token_without_ranges_is_suspended_once_they_are_required(
    sync_service_token, sync_app, orders_api
):
    assert introspect(sync_service_token.plaintext, orders_api)
    sync_app.service_tokens_need_ranges = True
    sync_app.save()

    assert not introspect(sync_service_token.plaintext, orders_api)
    assert ReferenceToken.objects.get(pk=sync_service_token.token.pk).state.label == (
        "Suspended: its application requires address ranges of service tokens"
    )


def test_the_admin_form_asks_for_ranges_where_the_application_requires_them(admin_user, sync_app):
    sync_app.service_tokens_need_ranges = True
    sync_app.save()
    browser = signed_in(admin_user)
    url = f"/admin/trustedapps/trustedapplication/{sync_app.pk}/create-token/"

    def issue(ranges: str):
        key = browser.get(url).context["form"].initial["form_key"]
        return browser.post(
            url,
            {
                "description": "nightly export",
                "expires_at": in_days(30),
                "scopes": [sync_app.allowed_scopes.first().pk],
                "allowed_ranges": ranges,
                "form_key": key,
            },
        )

    refused = issue("")
    assert "Sync requires address ranges of its service tokens" in refused.content.decode()
    assert not ReferenceToken.objects.exists()
    issue("2001:db8:42::/48")
    assert ReferenceToken.objects.get().allowed_ranges == "2001:db8:42::/48"
