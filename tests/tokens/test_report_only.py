"""Report-only lifetime rules (issue 23): nothing is blocked, the dashboard counts (and lists)
the live tokens enforcement would block, the validation URL counts what it would have refused,
and switching to enforce asks for confirmation with that number, which is what it then blocks."""

import re

from django.test import Client
from prometheus_client import REGISTRY

from tests.helpers import FORM, basic, signed_in
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.domain.lifetime_rules import newly_blocked_ids, would_refuse_ids
from tokens.domain.status import Inactive
from tokens.models import ReferenceToken
from tokens.validation.checks import check_for_holder
from trustedapps.models import InstanceTokenPolicy

POLICIES = "/admin/trustedapps/instancetokenpolicy/1/change/"
TOKENS = "/admin/tokens/referencetoken/"


def figures(page: str) -> dict[str, tuple[str, str]]:
    found = re.findall(
        r'<a href="([^"]+)"[^>]*>\s*<span class="figure">([^<]+)</span>\s*'
        r'<span class="figure-label">([^<]+)</span>',
        page,
    )
    return {label: (number, href.replace("&amp;", "&")) for href, number, label in found}


def rule_form(**values) -> dict:
    data = {}
    for kind in ("personal", "service"):
        for rule in ("lifetime", "expiry", "chain"):
            data[f"{kind}_{rule}_mode"] = "off"
    return {**data, **values}


def a_mix_of_tokens(alice, bob, sync_app, admin_user):
    """Two long personal tokens, one short, a long one revoked, a long service token."""
    long_ones = [
        lifecycle.issue_personal(user=person, application=sync_app, expires_at=expiry_in_days(30))
        for person in (alice, bob)
    ]
    short = lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(5))
    revoked = lifecycle.issue_personal(
        user=bob, application=sync_app, expires_at=expiry_in_days(30)
    )
    lifecycle.revoke_token(revoked.token, by=bob)
    service = lifecycle.issue_service(
        admin=admin_user, application=sync_app, expires_at=expiry_in_days(30)
    )
    return long_ones, short, service


def test_report_counts_equal_what_enforcement_then_blocks(alice, bob, sync_app, admin_user):
    long_ones, short, service = a_mix_of_tokens(alice, bob, sync_app, admin_user)
    everyone = [*long_ones, short, service]
    policy = InstanceTokenPolicy(personal_lifetime_mode="report", personal_lifetime_days=7)
    policy.save()

    # Report mode blocks nothing, and says which it would.
    assert all(check_for_holder(issued.plaintext) is not None for issued in everyone)
    reported = set(would_refuse_ids())
    assert reported == {issued.token.pk for issued in long_ones}
    browser = signed_in(admin_user)
    shown = figures(browser.get("/admin/").content.decode())
    assert shown["Would be blocked by report-only rules"] == ("2", f"{TOKENS}?would_refuse=report")
    listed = browser.get(f"{TOKENS}?would_refuse=report").context["cl"].result_list
    assert {token.pk for token in listed} == reported

    policy.personal_lifetime_mode = "enforce"
    policy.save()

    blocked = {issued.token.pk for issued in everyone if check_for_holder(issued.plaintext) is None}
    assert blocked == reported
    for token in ReferenceToken.objects.filter(pk__in=blocked):
        assert token.state.reason == Inactive.LIFETIME_RULE


def test_an_application_rule_in_report_mode_is_counted_too(alice, bob, sync_app, admin_user):
    a_mix_of_tokens(alice, bob, sync_app, admin_user)
    sync_app.service_lifetime_mode, sync_app.service_lifetime_days = "report", 10
    sync_app.save()

    reported = would_refuse_ids()

    assert [ReferenceToken.objects.get(pk=pk).kind for pk in reported] == ["service"]


def test_no_figure_while_no_rule_is_in_report_mode(admin_user):
    shown = figures(signed_in(admin_user).get("/admin/").content.decode())
    assert "Would be blocked by report-only rules" not in shown


def test_the_validation_url_counts_what_it_would_have_refused(alice_token, orders_api):
    InstanceTokenPolicy(personal_lifetime_mode="report", personal_lifetime_days=7).save()

    def counted() -> float:
        sample = "portal_validation_would_refuse_total"
        return REGISTRY.get_sample_value(sample, {"kind": "personal"}) or 0.0

    before = counted()
    response = Client().post(
        "/connect/introspect",
        f"token={alice_token.plaintext}",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(orders_api.client_id, orders_api.secret),
    )

    assert response.json()["active"] is True
    assert counted() == before + 1
    metrics = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'portal_validation_would_refuse_total{kind="personal"}' in metrics


def test_switching_to_enforce_asks_for_confirmation_with_the_number(
    alice, bob, sync_app, admin_user
):
    long_ones, _, _ = a_mix_of_tokens(alice, bob, sync_app, admin_user)
    browser = signed_in(admin_user)
    browser.post(POLICIES, rule_form(personal_lifetime_mode="report", personal_lifetime_days="7"))
    enforce = rule_form(personal_lifetime_mode="enforce", personal_lifetime_days="7")

    asked = browser.post(POLICIES, enforce)

    assert asked.status_code == 200
    assert "Enforcing these rules suspends 2 live tokens now." in asked.content.decode()
    assert InstanceTokenPolicy.current().personal_lifetime_mode == "report"
    assert all(check_for_holder(issued.plaintext) for issued in long_ones)

    confirmed = browser.post(POLICIES, {**enforce, "confirm_enforcing": "on"})

    assert confirmed.status_code == 302
    assert InstanceTokenPolicy.current().personal_lifetime_mode == "enforce"
    assert not any(check_for_holder(issued.plaintext) for issued in long_ones)


def test_enforcing_an_application_rule_asks_too(alice_token, sync_app, admin_user):
    browser = signed_in(admin_user)
    url = f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/"
    form = browser.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name != "allowed_scopes"
    }
    data["allowed_scopes"] = [scope.pk for scope in sync_app.allowed_scopes.all()]
    data.update(personal_lifetime_mode="enforce", personal_lifetime_days="7")

    asked = browser.post(url, data)

    assert "Enforcing these rules suspends 1 live token now." in asked.content.decode()
    assert check_for_holder(alice_token.plaintext) is not None
    assert newly_blocked_ids(sync_app, application=sync_app) == []
