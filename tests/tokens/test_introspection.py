from datetime import timedelta

from tokens.introspection import describe, introspect
from tokens.models import ReferenceToken


def test_an_issued_token_is_active_for_a_server_that_owns_its_scopes(alice_token, orders_api):
    active = introspect(
        alice_token.plaintext, client_id=orders_api.client_id, client_secret=orders_api.secret
    )
    assert active is not None
    assert active.username == "alice"
    assert active.scopes == ("read", "update")


def test_scopes_narrow_to_those_the_server_owns(alice_token, search_api):
    active = introspect(
        alice_token.plaintext, client_id=search_api.client_id, client_secret=search_api.secret
    )
    assert active.scopes == ("read",)


def test_a_check_costs_one_query_within_the_last_used_interval(
    alice_token, orders_api, django_assert_num_queries
):
    check = dict(client_id=orders_api.client_id, client_secret=orders_api.secret)
    with django_assert_num_queries(2):  # the lookup, and the first last_used_at write
        introspect(alice_token.plaintext, **check)
    with django_assert_num_queries(1):
        introspect(alice_token.plaintext, **check)


def test_a_token_expires_at_its_exact_expiry(alice_token):
    expires_at = alice_token.token.expires_at
    assert describe(alice_token.plaintext, now=expires_at - timedelta(microseconds=1))
    assert describe(alice_token.plaintext, now=expires_at) is None


def test_a_revoked_token_is_inactive(alice_token, alice):
    ReferenceToken.objects.get(pk=alice_token.token.pk).revoke(by=alice)
    assert describe(alice_token.plaintext) is None
