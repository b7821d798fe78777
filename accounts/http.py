"""The request that signed-in pages receive, as a type checker should see it."""

from typing import cast

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User


class SignedInRequest(HttpRequest):
    """A request past `login_required` or the admin's own check: its user is a person.

    For type checking only; at run time it is Django's HttpRequest, which HtmxMiddleware gives
    its `htmx` details.
    """

    user: User
    htmx: HtmxDetails


def signed_in(request: HttpRequest) -> User:
    """The person of a request that the admin or `login_required` has let through.

    Those checks run before any view; this only tells the type checker what they guarantee.
    """
    return cast(User, request.user)
