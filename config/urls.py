from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # The public endpoints of resource servers and token holders (tokens/api.py).
    path("", include("tokens.api_urls")),
    # Sign-in and the profile site.
    path("", include("accounts.urls")),
    path("", include("tokens.urls")),
]

# A database out of reach is a 503 "back shortly" page, whatever part of a request met it.
handler500 = "common.views.server_error"
