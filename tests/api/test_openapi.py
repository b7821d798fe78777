"""docs/openapi.json stays true: its paths are the URLconf's, and live answers match its schemas."""

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import resolve

from tests.helpers import FORM, basic
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.format import make_token
from tokens.leaks import urls as leak_urls
from tokens.leaks.github import forget_keys
from tokens.leaks.models import LeakReporter
from tokens.validation import urls as api_urls

SPEC = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
OPERATIONS = [
    (path, method)
    for path, item in SPEC["paths"].items()
    for method in item
    if method != "parameters"
]


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        node = SPEC
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "boolean": bool,
    "null": type(None),
}


def conforms(value, schema: dict) -> bool:
    """Enough of JSON Schema for this spec: $ref, oneOf, const, enum, type, required,
    properties, additionalProperties: false, items."""
    schema = _resolve(schema)
    if "oneOf" in schema:
        return sum(conforms(value, option) for option in schema["oneOf"]) == 1
    if "const" in schema and value != schema["const"]:
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(
            isinstance(value, _TYPES[t]) and not (t == "integer" and isinstance(value, bool))
            for t in types
        ):
            return False
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        if any(key not in value for key in schema.get("required", [])):
            return False
        if schema.get("additionalProperties") is False and set(value) - set(properties):
            return False
        return all(conforms(v, properties[k]) for k, v in value.items() if k in properties)
    if isinstance(value, list) and "items" in schema:
        return all(conforms(item, schema["items"]) for item in value)
    return True


def test_it_is_openapi_3_1_and_every_reference_resolves():
    assert SPEC["openapi"].startswith("3.1.")
    text = json.dumps(SPEC)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        _resolve({"$ref": ref})


# The leaked-token endpoints (issue 24) are checked by test_leak_endpoints_answer_as_declared.
LEAK_PATHS = {"/" + str(pattern.pattern) for pattern in leak_urls.urlpatterns}


def test_its_paths_are_exactly_the_public_urls():
    urlconf_paths = {
        "/" + str(pattern.pattern).replace("<path:original>", "{original}")
        for pattern in api_urls.urlpatterns
    } | LEAK_PATHS

    assert set(SPEC["paths"]) == urlconf_paths


@pytest.mark.parametrize("path", SPEC["paths"])
def test_each_path_resolves_and_undocumented_methods_are_405(client, db, path):
    assert resolve(path).url_name
    documented = [method.upper() for method in SPEC["paths"][path]]

    for other in {"GET", "POST", "PUT", "PATCH", "DELETE"} - set(documented):
        response = client.generic(other, path)
        assert response.status_code == 405
        assert response["Allow"] == ", ".join(documented)
        assert conforms(response.json(), {"$ref": "#/components/schemas/Error"})


def test_get_operations_come_with_head():
    for path, item in SPEC["paths"].items():
        assert ("get" in item) == ("head" in item), path


def _scenarios(token: str, server, fresh: str) -> list[tuple[str, str, dict, int]]:
    credentials = {"HTTP_AUTHORIZATION": basic(server.client_id, server.secret)}
    holder = {"HTTP_X_API_KEY": token, "data": "", "content_type": FORM}
    form = {"content_type": FORM}
    return [
        *_forward_auth_scenarios(server, fresh),
        ("/connect/introspect", "post", {"data": f"token={token}", **form, **credentials}, 200),
        ("/connect/introspect", "post", {"data": "token=enrt_x", **form, **credentials}, 200),
        ("/connect/introspect", "post", {"data": "token=%zz", **form, **credentials}, 400),
        ("/connect/introspect", "post", {"data": f"token={token}", **form}, 401),
        ("/connect/introspect", "post", {"data": "x=" + "y" * 5000, **form, **credentials}, 413),
        ("/connect/introspect", "post", {"data": "{}", "content_type": "text/plain"}, 415),
        ("/connect/revocation", "post", {"data": f"token={make_token()}", **form}, 200),
        ("/connect/revocation", "post", {"data": "", **form}, 400),
        ("/connect/revocation", "post", {"data": "token=" + "y" * 5000, **form}, 413),
        ("/connect/revocation", "post", {"data": "x", "content_type": "text/plain"}, 415),
        ("/.well-known/oauth-authorization-server", "get", {}, 200),
        ("/api/tokens/self", "get", {"HTTP_X_API_KEY": token}, 200),
        ("/api/tokens/self", "get", {"data": {"access_token": token}}, 400),
        ("/api/tokens/self", "get", {"HTTP_X_API_KEY": make_token()}, 401),
        ("/healthz", "get", {}, 200),
        ("/connect/introspect", "post", {"data": "token=x", **form, **credentials, **CHUNKED}, 411),
        ("/connect/revocation", "post", {"data": "token=x", **form, **CHUNKED}, 411),
        ("/.well-known/oauth-authorization-server", "head", {}, 200),
        ("/api/tokens/self", "head", {"HTTP_X_API_KEY": token}, 200),
        ("/api/tokens/self", "head", {"data": {"access_token": token}}, 400),
        ("/api/tokens/self", "head", {"HTTP_X_API_KEY": make_token()}, 401),
        ("/healthz", "head", {}, 200),
        ("/api/tokens/self/rotate", "post", {**holder, **CHUNKED}, 411),
        # Last: rotating revokes the token the scenarios above use.
        ("/api/tokens/self/rotate", "post", {**holder, "HTTP_X_API_KEY": make_token()}, 401),
        ("/api/tokens/self/rotate", "post", {**holder, "data": "x=" + "y" * 5000}, 413),
        (
            "/api/tokens/self/rotate",
            "post",
            {**holder, "data": "x", "content_type": "text/plain"},
            415,
        ),
        ("/api/tokens/self/rotate", "post", holder, 201),
        ("/api/tokens/self/rotate", "post", holder, 400),
    ]


def _forward_auth_scenarios(server, token: str) -> list[tuple[str, str, dict, int]]:
    # Forward auth answers every method alike; `token` is one that no scenario rotates.
    gateway = {"HTTP_X_GATEWAY_AUTHORIZATION": basic(server.client_id, server.secret)}
    return [
        scenario
        for path in ("/connect/forward-auth", "/connect/forward-auth/{original}")
        for method in ("get", "head", "post", "put", "patch", "delete")
        for scenario in [
            (path, method, {**gateway, "HTTP_X_API_KEY": token}, 200),
            (path, method, {**gateway, "HTTP_X_API_KEY": make_token()}, 401),
            (path, method, {"HTTP_X_API_KEY": token}, 403),
        ]
    ]


# A chunked body on a server that does not end the stream for Django (runserver, the test client).
CHUNKED = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}


def _check(response, path: str, method: str) -> None:
    declared = SPEC["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in declared, f"{method.upper()} {path} answered {status}, not in the spec"
    for header in declared[status].get("headers", {}):
        assert header in response, f"{method.upper()} {path} {status} lacks {header}"
    get = SPEC["paths"][path].get("get", {}).get("responses", {}).get(status, {})
    if "content" not in declared[status] and (method != "head" or "content" not in get):
        assert response.content == b""  # forward auth's 200: headers only
        return
    if method == "head":
        assert response.content == b""
        assert int(response["Content-Length"]) > 0  # the length GET's body would have
        return
    schema = declared[status]["content"]["application/json"]["schema"]
    assert conforms(response.json(), schema), f"{method.upper()} {path} {status}: {response.json()}"


def test_live_answers_match_the_spec_and_cover_every_declared_status(
    client, alice_token, orders_api, unreachable_database
):
    observed = set()
    fresh = lifecycle.issue_personal(
        user=alice_token.token.user,
        application=alice_token.token.application,
        expires_at=expiry_in_days(30),
    ).plaintext
    for path, method, request, expected in _scenarios(alice_token.plaintext, orders_api, fresh):
        response = getattr(client, method)(path, **request)
        assert response.status_code == expected, (path, request)
        _check(response, path, method)
        observed.add((path, method, str(expected)))
    # An application that keeps its tokens from rotating themselves.
    application = alice_token.token.application
    application.holders_may_rotate = False
    application.save()
    held = lifecycle.issue_personal(
        user=alice_token.token.user, application=application, expires_at=expiry_in_days(30)
    )
    response = client.post(
        "/api/tokens/self/rotate", "", content_type=FORM, HTTP_X_API_KEY=held.plaintext
    )
    assert response.status_code == 403
    _check(response, "/api/tokens/self/rotate", "post")
    observed.add(("/api/tokens/self/rotate", "post", "403"))
    with unreachable_database():
        for path, method in OPERATIONS:
            if path in LEAK_PATHS:
                continue
            request = {"data": f"token={alice_token.plaintext}", "content_type": FORM}
            request |= {"HTTP_AUTHORIZATION": basic(orders_api.client_id, orders_api.secret)}
            if path.startswith("/connect/forward-auth"):
                request = {
                    "HTTP_X_API_KEY": alice_token.plaintext,
                    "HTTP_X_GATEWAY_AUTHORIZATION": basic(orders_api.client_id, orders_api.secret),
                }
            elif method in ("get", "head"):
                request = {"HTTP_X_API_KEY": alice_token.plaintext}
            elif path.startswith("/api/"):
                request = {
                    "HTTP_X_API_KEY": alice_token.plaintext,
                    "data": "",
                    "content_type": FORM,
                }
            response = getattr(client, method)(path, **request)
            _check(response, path, method)
            observed.add((path, method, str(response.status_code)))

    declared = {
        (path, method, status)
        for path, method in OPERATIONS
        if path not in LEAK_PATHS
        for status in SPEC["paths"][path][method]["responses"]
    }
    assert declared == observed


@pytest.mark.parametrize("path", ["/connect/introspect", "/connect/revocation"])
def test_the_token_field_declares_what_the_endpoint_accepts(client, orders_api, path):
    body = SPEC["paths"][path]["post"]["requestBody"]["content"]
    schemas = [_resolve(media["schema"]) for media in body.values()]
    token = schemas[0]["properties"]["token"]
    assert all(schema["properties"]["token"] == token for schema in schemas)
    assert all("token" in schema["required"] for schema in schemas)
    credentials = {"HTTP_AUTHORIZATION": basic(orders_api.client_id, orders_api.secret)}

    def post(value: object):
        return client.post(path, {"token": value}, content_type="application/json", **credentials)

    assert token["type"] == "string"
    assert post(7).status_code == 400
    assert post("x" * token["minLength"]).status_code == 200
    assert post("x" * (token["minLength"] - 1)).status_code == 400


def test_leak_endpoints_answer_as_declared(
    client, settings, tmp_path, alice_token, unreachable_database
):
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    keys = {"public_keys": [{"key_identifier": "k1", "key": public.decode(), "is_current": True}]}
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    settings.LEAKS_GITHUB_KEYS_FILE = str(tmp_path / "keys.json")
    settings.LEAKS_MAX_BODY_BYTES = 2000
    forget_keys()
    reporter = LeakReporter(name="gitlab.example.com")
    secret = reporter.set_secret()
    reporter.save()

    def signed(body: bytes) -> dict:
        signature = base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
        return {
            "data": body,
            "content_type": "application/json",
            "HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER": "k1",
            "HTTP_GITHUB_PUBLIC_KEY_SIGNATURE": signature,
        }

    github = "/api/leaks/github"
    types = "/api/leaks/gitlab/v1/revocable_token_types"
    revoke = "/api/leaks/gitlab/v1/revoke_tokens"
    leak = json.dumps([{"token": make_token(), "type": "enrt", "url": "https://x.example/"}])
    gitlab = json.dumps([{"type": "gitleaks_rule_id_enrt_reference_token", "token": "x"}])
    as_gitlab = {"HTTP_AUTHORIZATION": secret}
    json_body = {"content_type": "application/json"}
    scenarios = [
        (github, "post", signed(leak.encode()), 200),
        (github, "post", signed(b"{}"), 400),
        (github, "post", {"data": leak, **json_body}, 401),
        (github, "post", {"data": "[" + " " * 3000 + "]", **json_body}, 413),
        (types, "get", as_gitlab, 200),
        (types, "head", as_gitlab, 200),
        (types, "get", {}, 401),
        (types, "head", {}, 401),
        (revoke, "post", {"data": gitlab, **json_body, **as_gitlab}, 204),
        (revoke, "post", {"data": "{}", **json_body, **as_gitlab}, 400),
        (revoke, "post", {"data": gitlab, **json_body}, 401),
        (revoke, "post", {"data": " " * 3000, **json_body, **as_gitlab}, 413),
    ]
    observed = set()

    def answer(path: str, method: str, request: dict, expected: int) -> None:
        response = getattr(client, method)(path, **request)
        assert response.status_code == expected, (path, method, response.content)
        if response.status_code == 204:
            assert response.content == b""
            assert response["Cache-Control"] == "no-store"
        else:
            _check(response, path, method)
        observed.add((path, method, str(expected)))

    for scenario in scenarios:
        answer(*scenario)
    settings.LEAKS_RATE_LIMIT_PER_MINUTE = 0
    for path, method, request in [
        (types, "get", as_gitlab),
        (types, "head", as_gitlab),
        (revoke, "post", {"data": gitlab, **json_body, **as_gitlab}),
    ]:
        answer(path, method, request, 429)
    settings.LEAKS_RATE_LIMIT_PER_MINUTE = 60
    with unreachable_database():
        answer(github, "post", signed(leak.encode()), 503)
        answer(types, "get", as_gitlab, 503)
        answer(types, "head", as_gitlab, 503)
        answer(revoke, "post", {"data": gitlab, **json_body, **as_gitlab}, 503)
    forget_keys()

    declared = {
        (path, method, status)
        for path, method in OPERATIONS
        if path in LEAK_PATHS
        for status in SPEC["paths"][path][method]["responses"]
    }
    assert declared == observed
