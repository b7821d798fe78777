"""Hostile requests at the public endpoints, generated: arbitrary bytes, content types, encodings,
nesting, credentials and headers. Whatever arrives: no 5xx, `no-store` always, no 200 at the
validation URL without a resource server's valid credentials, and no `active: true` without them
and the live token.

The budget is a fixed number of examples per endpoint (a few seconds in all), so `make test`
stays quick; the named regressions (4,000 `[`) have tests of their own beside each endpoint.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import FORM, basic

JSON = "application/json"
BUDGET = settings(
    max_examples=150,
    deadline=None,  # the first example pays for warm-up; nothing here asserts on time
    database=None,  # nothing written to the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
latin1 = st.text(st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=60)
anything = st.text(max_size=60)  # any code point, lone surrogates included

content_types = st.one_of(
    st.sampled_from(
        [
            FORM,
            JSON,
            FORM + "; charset=UTF-8",
            JSON + "; charset=utf-8",
            FORM + "; charset=latin-1",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/xml",
            "",
        ]
    ),
    printable,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | anything,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(anything, children, max_size=4)
    ),
    max_leaves=20,
)


def _json_body(params: dict) -> bytes:
    return json.dumps(params).encode()


def _form_body(params: dict) -> bytes:
    return urlencode({str(k): str(v) for k, v in params.items()}).encode()


def bodies(token_values: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Bodies of every kind: structured ones that carry a token (maybe the live one) and odd
    parameters, raw bytes, percent-encoding gone wrong, and deep nesting."""
    params = st.fixed_dictionaries(
        {},
        optional={
            "token": token_values | json_values,
            "client_id": printable | json_values,
            "client_secret": printable | json_values,
            "client_ip": anything | json_values,
            "token_type_hint": anything,
            "expires_in_days": json_values,
        },
    )
    depth = st.integers(1, 5000)
    return st.one_of(
        params.map(_json_body),
        params.map(_form_body),
        st.binary(max_size=300),
        latin1.map(lambda s: s.encode("latin-1")),
        st.builds(
            lambda t, junk: b"token=" + t.encode() + b"&" + junk,
            token_values,
            st.binary(max_size=20),
        ),
        depth.map(lambda n: b"[" * n),
        depth.map(lambda n: b'{"token": ' + b"[" * n),
        depth.map(lambda n: b'{"a": ' * n),
        st.binary(min_size=4090, max_size=4200),
    )


def transfer(body: bytes) -> st.SearchStrategy[dict]:
    """How the body arrives: with its length, with a wrong one, or chunked."""
    return st.sampled_from(
        [
            {},
            {"CONTENT_LENGTH": "lots"},
            {"CONTENT_LENGTH": str(10**9)},
            {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"},
            {
                "CONTENT_LENGTH": "",
                "HTTP_TRANSFER_ENCODING": "chunked",
                "wsgi.input_terminated": True,
            },
        ]
    )


def _assert_never_an_error_of_ours(response) -> None:
    assert response.status_code < 500, response.content
    assert response["Cache-Control"] == "no-store"


def _send(client, method: str, path: str, body: bytes, content_type: str, extra: dict):
    import io

    extra = dict(extra)
    if extra.get("wsgi.input_terminated"):
        extra["wsgi.input"] = io.BytesIO(body)
    return client.generic(method, path, body, content_type=content_type, **extra)


# --- POST /connect/introspect ---------------------------------------------------------------


@BUDGET
@given(data=st.data())
def test_introspection_never_fails_and_never_skips_the_caller(
    client, alice_token, orders_api, data
):
    live = alice_token.plaintext
    good_basic = [basic(orders_api.client_id, orders_api.secret)]
    good_basic.append(
        "Basic "
        + base64.b64encode(
            f"{quote(orders_api.client_id, safe='')}:{orders_api.secret}".encode()
        ).decode()
    )
    authorization = data.draw(
        st.one_of(
            st.none(),
            st.sampled_from(good_basic),
            st.builds(basic, printable, printable),
            st.builds(lambda b: "Basic " + base64.b64encode(b).decode(), st.binary(max_size=40)),
            st.builds(lambda s: "Basic " + s, latin1),
            st.builds(lambda s: "Bearer " + s, st.sampled_from([live]) | printable),
            latin1,
        ),
        label="authorization",
    )
    body = data.draw(bodies(st.sampled_from([live]) | printable), label="body")
    post_credentials = data.draw(st.booleans(), label="valid client_secret_post")
    if post_credentials and body.startswith(b"{") and not body.startswith(b'{"a'):
        try:
            params = json.loads(body)
        except (ValueError, RecursionError):
            params = None
        if isinstance(params, dict):
            params |= {"client_id": orders_api.client_id, "client_secret": orders_api.secret}
            body = _json_body(params)
    content_type = data.draw(content_types, label="content type")
    extra = data.draw(transfer(body), label="transfer")
    method = data.draw(
        st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "HEAD"]), label="method"
    )
    if authorization is not None:
        extra["HTTP_AUTHORIZATION"] = authorization

    response = _send(client, method, "/connect/introspect", body, content_type, extra)

    _assert_never_an_error_of_ours(response)
    if response.status_code == 200:
        # The caller was checked: only a request holding a valid credential gets an answer.
        assert authorization in good_basic or orders_api.secret.encode() in body
        answer = response.json()
        assert answer == {"active": False} or (answer["active"] is True and live.encode() in body)


# --- POST /connect/revocation ---------------------------------------------------------------


@BUDGET
@given(data=st.data())
def test_revocation_never_fails(client, alice_token, sync_service_token, data):
    live = alice_token.plaintext
    body = data.draw(bodies(st.sampled_from([live]) | printable), label="body")
    content_type = data.draw(content_types, label="content type")
    extra = data.draw(transfer(body), label="transfer")
    authorization = data.draw(st.none() | latin1, label="authorization")
    if authorization is not None:
        extra["HTTP_AUTHORIZATION"] = authorization

    response = _send(client, "POST", "/connect/revocation", body, content_type, extra)

    _assert_never_an_error_of_ours(response)
    if response.status_code == 200:
        assert response.json() == {}
    # Only the presented token can be revoked: the service token is never touched.
    sync_service_token.token.refresh_from_db()
    assert sync_service_token.token.revoked_at is None


# --- GET /api/tokens/self -------------------------------------------------------------------


@BUDGET
@given(data=st.data())
def test_the_self_description_never_fails_and_needs_the_token(client, alice_token, data):
    live = alice_token.plaintext
    header_value = st.sampled_from([live, " " + live, live + "\x00"]) | latin1
    headers = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "HTTP_AUTHORIZATION": st.builds(lambda s: "Bearer " + s, header_value) | latin1,
                "HTTP_X_API_KEY": header_value,
                "HTTP_API_KEY": header_value,
            },
        ),
        label="headers",
    )
    query = data.draw(
        st.dictionaries(
            st.sampled_from(["access_token", "token", "x"]) | printable, anything, max_size=3
        ),
        label="query",
    )
    method = data.draw(st.sampled_from(["GET", "HEAD", "POST", "DELETE"]), label="method")

    response = client.generic(
        method, "/api/tokens/self?" + urlencode(query, errors="surrogatepass"), **headers
    )

    _assert_never_an_error_of_ours(response)
    if response.status_code == 200:
        assert any(live in value for value in headers.values())
        if method == "GET":
            assert response.json()["jti"] == str(alice_token.token.pk)


# --- any method /connect/forward-auth ---------------------------------------------------------


@BUDGET
@given(data=st.data())
def test_forward_auth_never_fails_and_never_allows_without_gateway_and_token(
    client, alice_token, orders_api, data
):
    live = alice_token.plaintext
    gateway = basic(orders_api.client_id, orders_api.secret)
    header_value = st.sampled_from([live, " " + live, live + "\x00"]) | latin1
    headers = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "HTTP_AUTHORIZATION": st.builds(lambda s: "Bearer " + s, header_value) | latin1,
                "HTTP_X_API_KEY": header_value,
                "HTTP_API_KEY": header_value,
                "HTTP_X_GATEWAY_AUTHORIZATION": st.sampled_from([gateway])
                | st.builds(basic, printable, printable)
                | st.builds(lambda s: "Basic " + s, latin1)
                | latin1,
                "HTTP_X_REQUIRED_SCOPE": latin1,
                "HTTP_X_FORWARDED_FOR": latin1,
            },
        ),
        label="headers",
    )
    query = data.draw(
        st.dictionaries(st.sampled_from(["scope", "token"]) | printable, anything, max_size=3),
        label="query",
    )
    body = data.draw(bodies(st.sampled_from([live]) | printable), label="body")
    content_type = data.draw(content_types, label="content type")
    extra = data.draw(transfer(body), label="transfer")
    method = data.draw(
        st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]), label="method"
    )

    response = _send(
        client,
        method,
        "/connect/forward-auth?" + urlencode(query, errors="surrogatepass"),
        body,
        content_type,
        extra | headers,
    )

    _assert_never_an_error_of_ours(response)
    if response.status_code == 200:
        assert headers.get("HTTP_X_GATEWAY_AUTHORIZATION") == gateway
        assert any(live in value for value in headers.values())
        assert response["X-Auth-Token-Id"] == str(alice_token.token.pk)
