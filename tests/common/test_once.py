"""One-time form keys (common.once): signed for one session, used once, forgotten when stale."""

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core import signing
from django.test import RequestFactory
from django.utils import timezone

from common.models import UsedFormKey
from common.once import (
    MAX_AGE,
    FormKeyUsed,
    form_key_of,
    new_form_key,
    purge_used_form_keys,
    used_once,
)


def browser_request():
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.session.create()
    return request


def test_a_key_is_recognised_by_the_session_it_was_given_to_only(db):
    alices_tab, bobs_tab = browser_request(), browser_request()
    value = new_form_key(alices_tab)
    assert form_key_of(alices_tab, value)
    assert form_key_of(bobs_tab, value) is None


@pytest.mark.parametrize("value", ["", "made-up", "a:b:c", "\x00", "k" * 5000])
def test_a_made_up_key_is_refused_without_a_query(db, django_assert_num_queries, value):
    request = browser_request()
    with django_assert_num_queries(0):
        assert form_key_of(request, value) is None


def test_a_key_older_than_max_age_is_refused(db):
    request = browser_request()

    class SignedYesterday(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time() - MAX_AGE.total_seconds() - 1))

    salt = f"common.once:{request.session.session_key}"
    assert form_key_of(request, signing.TimestampSigner(salt=salt).sign("k1")) == "k1"
    assert form_key_of(request, SignedYesterday(salt=salt).sign("k1")) is None


def test_a_key_does_its_one_action_once(db):
    with used_once("k1"):
        pass
    with pytest.raises(FormKeyUsed), used_once("k1"):
        pytest.fail("the block of a used key must not run")
    assert UsedFormKey.objects.count() == 1


def test_a_refused_action_gives_the_key_back(db):
    with pytest.raises(ValueError), used_once("k1"):
        raise ValueError("refused")
    assert not UsedFormKey.objects.exists()
    with used_once("k1"):
        pass


def test_stale_used_keys_are_purged_after_use(db, django_capture_on_commit_callbacks):
    old = UsedFormKey.objects.create(key="old", used_at=timezone.now() - MAX_AGE - timedelta(1))
    recent = UsedFormKey.objects.create(key="recent", used_at=timezone.now() - MAX_AGE / 2)
    with django_capture_on_commit_callbacks(execute=True), used_once("new"):
        pass
    assert set(UsedFormKey.objects.values_list("key", flat=True)) == {"recent", "new"}
    assert not UsedFormKey.objects.filter(pk=old.pk).exists()
    assert purge_used_form_keys() == 0
    assert UsedFormKey.objects.filter(pk=recent.pk).exists()
