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

admin.site.site_header = "Token portal administration"
admin.site.site_title = "Token portal admin"
admin.site.index_title = "Instance management"
