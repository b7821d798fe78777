"""Every page keeps to the Content-Security-Policy: no inline script, style or handler.

Chromium checks the real thing against the production server (tests/e2e/test_production_server.py,
on PostgreSQL); this catches an inline style in a template or an admin display on every run.
"""

import re

import pytest
from django.test import Client

from tokens.domain import lifecycle

# A JSON data block (json_script, type="application/json") is never run, so it is no inline code.
INLINE = re.compile(
    r"<[^>]*\s(style|on[a-z]+)\s*=[^>]*>"
    r"|<script(?![^>]*\ssrc=)(?![^>]*\stype=\"application/json\")[^>]*>|<style[\s>]",
    re.I,
)


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def pages(user, app, server, token) -> list[str]:
    return [
        "/profile/security/tokens/",
        "/profile/security/tokens/?show=all",
        "/profile/security/tokens/new/",
        f"/profile/security/tokens/{token.pk}/revoke/",
        "/admin/",
        "/admin/tokens/referencetoken/",
        f"/admin/tokens/referencetoken/{token.pk}/change/",
        "/admin/tokens/tokenevent/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{user.pk}/change/",
        "/admin/trustedapps/trustedapplication/",
        f"/admin/trustedapps/trustedapplication/{app.pk}/change/",
        f"/admin/trustedapps/trustedapplication/{app.pk}/create-token/",
        "/admin/trustedapps/resourceserver/",
        f"/admin/trustedapps/resourceserver/{server.server.pk}/change/",
        "/admin/trustedapps/scope/",
    ]


def test_no_page_has_inline_script_or_style(
    admin_client, admin_user, sync_app, orders_api, sync_service_token, in_30_days
):
    # The profile's pages show the admin's own tokens: give them one.
    own = lifecycle.issue_personal(
        user=admin_user, application=sync_app, expires_at=in_30_days, description="mine"
    )
    for path in pages(admin_user, sync_app, orders_api, own.token):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert INLINE.findall(response.content.decode()) == [], path


def test_the_sign_in_pages_have_none_either(db):
    for path in ["/accounts/login/", "/accounts/password/reset/"]:
        response = Client().get(path)
        assert INLINE.findall(response.content.decode()) == [], path
