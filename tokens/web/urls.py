from django.urls import path, register_converter

from common.ids import RowIdConverter
from tokens.web import removal, renewal, security_log, views

register_converter(RowIdConverter, "row_id")

urlpatterns = [
    path("profile/security/tokens/", views.token_list, name="token_list"),
    path("profile/security/tokens/new/", views.token_create, name="token_create"),
    path(
        "profile/security/tokens/new/application-fields/",
        views.application_fields,
        name="token_application_fields",
    ),
    path(
        "profile/security/tokens/<row_id:token_id>/revoke/", views.token_revoke, name="token_revoke"
    ),
    path("profile/security/tokens/<row_id:token_id>/", views.token_detail, name="token_detail"),
    path(
        "profile/security/tokens/<row_id:token_id>/rotate/", views.token_rotate, name="token_rotate"
    ),
    # Issue 20: renewing an expired or revoked token, or removing it from the list.
    path(
        "profile/security/tokens/<row_id:token_id>/renew/", renewal.token_renew, name="token_renew"
    ),
    path(
        "profile/security/tokens/<row_id:token_id>/remove/",
        removal.token_remove,
        name="token_remove",
    ),
    # Issue 21: the account's and its personal tokens' events.
    path("profile/security/log/", security_log.security_log, name="security_log"),
]
