"""tokens.validation.protocol: the rules its endpoints' parameters live by."""

import pytest
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse

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
