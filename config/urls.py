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

admin.site.site_header = "Token portal administration"
admin.site.site_title = "Token portal admin"
admin.site.index_title = "Instance management"
