"""GET /metrics: the scrape target, for METRICS_ALLOWED_NETWORKS (loopback) or a bearer secret."""

from prometheus_client import REGISTRY

from tests.helpers import FORM, basic
from tokens.domain import lifecycle

URL = "/metrics"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_loopback_gets_the_metrics_in_prometheus_text_format(client, db):
    response = client.get(URL, REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"# TYPE portal_validation_requests_total counter" in response.content
    assert response["Cache-Control"] == "no-store"


def test_another_address_is_refused(client, db):
    response = client.get(URL, REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 403
    assert b"METRICS_ALLOWED_NETWORKS" in response.content
    assert b"portal_" not in response.content


def test_a_request_through_an_undeclared_proxy_is_not_local(client, db, settings):
    # nginx on loopback forwards the world's requests: its peer address says nothing.
    settings.TRUSTED_PROXY_COUNT = 0
    response = client.get(URL, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert response.status_code == 403


def test_through_a_declared_proxy_the_caller_s_address_decides(client, db, behind_nginx):
    outside = client.get(URL, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    inside = client.get(URL, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")

    assert (outside.status_code, inside.status_code) == (403, 200)


def test_the_bearer_secret_opens_it_from_anywhere(client, db, settings):
    settings.METRICS_BEARER_TOKEN = "scrape-secret-" + "x" * 20

    allowed = client.get(
        URL,
        REMOTE_ADDR="198.51.100.7",
        HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_BEARER_TOKEN}",
    )
    wrong = client.get(URL, REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION="Bearer nope")

    assert (allowed.status_code, wrong.status_code) == (200, 403)


def test_no_bearer_secret_configured_means_no_bearer_access(client, db, settings):
    settings.METRICS_BEARER_TOKEN = ""
    response = client.get(URL, REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 403


def test_validation_requests_are_counted_by_outcome(client, alice_token, orders_api):
    def ask(token: str, secret: str = orders_api.secret):
        client.post(
            "/connect/introspect",
            f"token={token}",
            content_type=FORM,
            HTTP_AUTHORIZATION=basic(orders_api.client_id, secret),
        )

    outcomes = ["active", "inactive", "invalid_client", "invalid_request"]
    before = {o: sample("portal_validation_requests_total", outcome=o) for o in outcomes}
    timed = sample("portal_validation_duration_seconds_count")

    ask(alice_token.plaintext)
    ask("enrt_" + "0" * 64)
    ask(alice_token.plaintext, secret="wrong")
    ask("")

    after = {o: sample("portal_validation_requests_total", outcome=o) for o in outcomes}
    assert {o: after[o] - before[o] for o in outcomes} == dict.fromkeys(outcomes, 1.0)
    assert sample("portal_validation_duration_seconds_count") == timed + 4


def test_issued_rotated_and_revoked_tokens_are_counted_by_kind(alice_token, sync_service_token):
    issued = sample("portal_tokens_issued_total", kind="service")
    rotated = sample("portal_tokens_rotated_total", kind="personal")
    revoked = sample("portal_tokens_revoked_total", kind="personal")

    replacement = lifecycle.rotate(alice_token.token, by=None).token
    lifecycle.revoke_token(replacement, by=None)
    lifecycle.revoke_token(replacement, by=None)  # already revoked: not counted again

    assert sample("portal_tokens_rotated_total", kind="personal") == rotated + 1
    assert sample("portal_tokens_revoked_total", kind="personal") == revoked + 1
    assert sample("portal_tokens_issued_total", kind="service") == issued
