from django.urls import path

from approvals import views

urlpatterns = [
    path("profile/security/tokens/requests/", views.request_list, name="token_request_list"),
    path(
        "profile/security/tokens/requests/new/", views.request_create, name="token_request_create"
    ),
    path(
        "profile/security/tokens/requests/<row_id:request_id>/pick-up/",
        views.request_pick_up,
        name="token_request_pick_up",
    ),
]
