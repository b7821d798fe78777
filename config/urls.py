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
