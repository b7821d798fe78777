"""Hostile bodies at the leaked-token endpoints, from callers who pass the check (a valid GitHub
signature, GitLab's secret) and from those who do not: never a 5xx, `no-store` always, and
nothing revoked but a real token in a well-formed report."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokens.leaks.github import forget_keys
from tokens.leaks.models import LeakReporter
from tokens.models import ReferenceToken

BUDGET = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
anything = st.text(max_size=40)  # lone surrogates included
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | anything,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(anything, children, max_size=4)
    ),
    max_leaves=20,
)
items = st.fixed_dictionaries(
    {},
    optional={
        "token": anything | json_values,
        "type": st.just("gitleaks_rule_id_enrt_reference_token") | anything | json_values,
        "url": anything | json_values,
        "location": anything | json_values,
    },
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(items | json_values, max_size=5).map(lambda v: json.dumps(v).encode()),
    st.integers(1, 5000).map(lambda n: b"[" * n),
)


@pytest.fixture
def github_signs(settings, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    keys = {"public_keys": [{"key_identifier": "k", "key": public.decode(), "is_current": True}]}
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    settings.LEAKS_GITHUB_KEYS_FILE = str(tmp_path / "keys.json")
    forget_keys()
    yield lambda body: base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    forget_keys()


@BUDGET
@given(
    body=bodies,
    sign=st.booleans(),
    content_type=st.sampled_from(["application/json", "", "text/plain"]),
)
def test_github_never_fails(client, alice_token, github_signs, body, sign, content_type):
    headers = {"HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER": "k"}
    if sign:
        headers["HTTP_GITHUB_PUBLIC_KEY_SIGNATURE"] = github_signs(body)
    response = client.generic(
        "POST", "/api/leaks/github", body, content_type=content_type, **headers
    )

    assert response.status_code in ((200, 400) if sign else (401,))
    assert response["Cache-Control"] == "no-store"
    assert not ReferenceToken.objects.revoked().exists()


@pytest.fixture
def gitlab_secret(db, settings) -> str:
    settings.LEAKS_RATE_LIMIT_PER_MINUTE = 10**6
    reporter = LeakReporter(name="gitlab.example.com")
    secret = reporter.set_secret()
    reporter.save()
    return secret


@BUDGET
@given(body=bodies, authorized=st.booleans(), other=st.text(st.characters(max_codepoint=0xFF)))
def test_gitlab_never_fails(client, alice_token, gitlab_secret, body, authorized, other):
    response = client.generic(
        "POST",
        "/api/leaks/gitlab/v1/revoke_tokens",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=gitlab_secret if authorized else other,
    )

    assert response.status_code in ((204, 400) if authorized else (401,))
    assert response["Cache-Control"] == "no-store"
    assert not ReferenceToken.objects.revoked().exists()
