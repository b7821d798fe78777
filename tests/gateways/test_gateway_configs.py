"""Traefik and Envoy cannot be installed here (no Debian package): their configurations in
docs/gateways/ are parsed, and checked for what keeps them safe, against the portal's own names.
Where `envoy` is on the PATH, Envoy validates its file too."""

import shutil
import subprocess

import pytest
import yaml
from django.urls import resolve

from tests.gateways.conftest import render
from tokens.validation.forward_auth import IDENTITY_HEADERS, forward_auth_view

IDENTITY = [h.lower() for h in IDENTITY_HEADERS]


@pytest.fixture
def traefik(tmp_path) -> tuple[dict, dict]:
    static = render(
        "traefik.yml", tmp_path / "traefik.yml", LISTEN=":8080", CONFIG_DIR=str(tmp_path)
    )
    dynamic = render(
        "traefik-dynamic.yml",
        tmp_path / "traefik-dynamic.yml",
        PORTAL="portal.internal:8000",
        UPSTREAM="orders.internal:9000",
        GATEWAY_CREDENTIAL="b3JkZXJzLWFwaTpzZWNyZXQ=",
    )
    return yaml.safe_load(static.read_text()), yaml.safe_load(dynamic.read_text())


def test_traefik_reads_its_dynamic_file(traefik, tmp_path):
    static, _ = traefik

    assert static["providers"]["file"]["filename"] == str(tmp_path / "traefik-dynamic.yml")
    assert static["entryPoints"]["web"]["address"] == ":8080"


def test_traefik_strips_identity_headers_checks_and_drops_its_credential(traefik):
    _, dynamic = traefik
    middlewares = dynamic["http"]["middlewares"]
    prepare = middlewares["token-check-prepare"]["headers"]["customRequestHeaders"]

    assert all(prepare[name] == "" for name in IDENTITY_HEADERS)
    assert prepare["X-Gateway-Authorization"] == "Basic b3JkZXJzLWFwaTpzZWNyZXQ="
    assert middlewares["token-check-cleanup"]["headers"]["customRequestHeaders"] == {
        "X-Gateway-Authorization": ""
    }
    for name in ("token-check", "token-check-update"):
        check = middlewares[name]["forwardAuth"]
        assert check["authResponseHeaders"] == list(IDENTITY_HEADERS)
        assert check["trustForwardHeader"] is False
        assert resolve(check["address"].split("8000", 1)[1].split("?")[0]).func is forward_auth_view
    assert middlewares["token-check-update"]["forwardAuth"]["address"].endswith("?scope=update")


def test_every_traefik_router_checks_between_prepare_and_cleanup(traefik):
    _, dynamic = traefik
    routers = dynamic["http"]["routers"]

    assert routers["api"]["middlewares"] == [
        "token-check-prepare",
        "token-check",
        "token-check-cleanup",
    ]
    assert routers["api-admin"]["middlewares"][1] == "token-check-update"
    assert dynamic["http"]["services"]["api"]["loadBalancer"]["servers"] == [
        {"url": "http://orders.internal:9000"}
    ]


@pytest.fixture
def envoy_file(tmp_path):
    return render(
        "envoy.yaml",
        tmp_path / "envoy.yaml",
        LISTEN_PORT="8080",
        PORTAL_HOST="portal.internal",
        PORTAL_PORT="8000",
        UPSTREAM_HOST="orders.internal",
        UPSTREAM_PORT="9000",
        GATEWAY_CREDENTIAL="b3JkZXJzLWFwaTpzZWNyZXQ=",
    )


def _manager(envoy_file) -> dict:
    config = yaml.safe_load(envoy_file.read_text())
    [listener] = config["static_resources"]["listeners"]
    [chain] = listener["filter_chains"]
    [manager] = chain["filters"]
    return manager["typed_config"]


def test_envoy_removes_client_identity_headers_before_any_check(envoy_file):
    filters = _manager(envoy_file)["http_filters"]

    assert [f["name"] for f in filters] == [
        "envoy.filters.http.header_mutation",
        "envoy.filters.http.ext_authz.any",
        "envoy.filters.http.ext_authz.update",
        "envoy.filters.http.router",
    ]
    removed = [m["remove"] for m in filters[0]["typed_config"]["mutations"]["request_mutations"]]
    assert set(removed) == {*IDENTITY, "x-gateway-authorization"}


def test_envoy_asks_the_forward_auth_endpoint_and_fails_closed(envoy_file):
    for check in _manager(envoy_file)["http_filters"][1:3]:
        config = check["typed_config"]
        service = config["http_service"]
        assert config["failure_mode_allow"] is False
        # Envoy appends the request's path to the prefix.
        assert resolve(service["path_prefix"] + "/api/orders").func is forward_auth_view
        added = {h["key"]: h["value"] for h in service["authorization_request"]["headers_to_add"]}
        assert added["X-Gateway-Authorization"] == "Basic b3JkZXJzLWFwaTpzZWNyZXQ="
        upstream = service["authorization_response"]["allowed_upstream_headers"]["patterns"]
        assert [p["exact"] for p in upstream] == IDENTITY


def test_each_envoy_route_runs_exactly_one_check(envoy_file):
    [host] = _manager(envoy_file)["route_config"]["virtual_hosts"]
    checks = {"envoy.filters.http.ext_authz.any", "envoy.filters.http.ext_authz.update"}
    requirements = {}
    for route in host["routes"]:
        disabled = {name for name, c in route["typed_per_filter_config"].items() if c["disabled"]}
        [running] = checks - disabled
        requirements[route["match"]["prefix"]] = running
    assert requirements == {
        "/api/admin/": "envoy.filters.http.ext_authz.update",
        "/api/": "envoy.filters.http.ext_authz.any",
    }
    update = _manager(envoy_file)["http_filters"][2]["typed_config"]["http_service"]
    added = {h["key"]: h["value"] for h in update["authorization_request"]["headers_to_add"]}
    assert added["X-Required-Scope"] == "update"


def test_envoy_validates_the_file_where_it_is_installed(envoy_file):
    envoy = shutil.which("envoy")
    if envoy is None:
        pytest.skip("envoy is not installed (no Debian package): the file is only parsed here")
    result = subprocess.run(  # noqa: S603 - envoy's own validation mode
        [envoy, "--mode", "validate", "-c", str(envoy_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
