"""tokens.validation.protocol: the rules its endpoints' parameters live by."""

import pytest
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.urls import resolve

from tokens.validation.protocol import TextParameter, endpoint


class WithACleanMethod(forms.Form):
    token = TextParameter("token")

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip()


def test_endpoint_parameters_with_clean_methods_are_refused_at_import():
    # The endpoint cleans each field on its own, without a bound form: a clean method would
    # silently never run, so declaring one is an error as the module loads.
    with pytest.raises(ImproperlyConfigured, match="declare fields only"):
        endpoint("POST", params=WithACleanMethod)(lambda request, **kwargs: HttpResponse())


@pytest.mark.parametrize(
    ("path", "validation"),
    [
        ("/connect/introspect", True),
        ("/api/tokens/self", True),
        ("/connect/revocation", False),
        ("/api/tokens/self/rotate", False),
        ("/.well-known/oauth-authorization-server", False),
        ("/healthz", False),
    ],
)
def test_the_validation_url_carries_the_mark_of_the_shorter_statement_timeout(path, validation):
    # common.middleware reads the mark (tests/common/test_statement_timeout.py: the timeouts).
    view = resolve(path).func
    assert view.lean_endpoint is True
    assert getattr(view, "validation_url", False) is validation
