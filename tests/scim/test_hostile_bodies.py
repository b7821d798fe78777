"""Whatever JSON a provisioning client sends to /scim/v2/Users, the answer is a SCIM answer
(2xx, or a 4xx error body), never a 500 and never a half write."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User

BUDGET = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written to the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KEYS = st.sampled_from(
    [
        "userName",
        "active",
        "name",
        "givenName",
        "emails",
        "value",
        "externalId",
        "op",
        "path",
        "Operations",
        "schemas",
        "primary",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "False",
            "urn:ietf:params:scim:api:messages:2.0:PatchOp",
            "replace",
            "active",
            'emails[type eq "work"].value',
            "name.givenName",
            "a@b.example",
            "\x00",
            "\ud800",  # a lone surrogate: JSON can carry it, no database can store it
        ]
    ),
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(KEYS, children, max_size=4)
    ),
    max_leaves=12,
)


@BUDGET
@given(body=JSON, method=st.sampled_from(["POST", "PUT", "PATCH"]))
def test_any_json_gets_a_scim_answer(entra, alice, body, method):
    path = "/scim/v2/Users" if method == "POST" else f"/scim/v2/Users/{alice.pk}"
    before = list(User.objects.order_by("pk").values_list("username", "is_active", "email"))

    response = entra.call(method, path, json.dumps(body))

    assert response.status_code in {200, 201, 400, 409}, response.content
    assert response["Content-Type"] == "application/scim+json"
    if response.status_code >= 400:
        assert response.json()["status"] == str(response.status_code)
        after = list(User.objects.order_by("pk").values_list("username", "is_active", "email"))
        assert after == before
    User.objects.exclude(pk=alice.pk).delete()
    User.objects.filter(pk=alice.pk).update(username="alice", is_active=True, email="a@x.example")
