from django.contrib import admin
from django.urls import include, path

from accounts.views import admin_sign_in
from common.metrics import metrics_view

urlpatterns = [
    # The admin signs in where everyone does, with their second factor (issue 21).
    path("admin/login/", admin_sign_in, name="admin_sign_in"),
    path("admin/", admin.site.urls),
    # Prometheus' scrape target: loopback (METRICS_ALLOWED_NETWORKS) or a bearer secret only.
    path("metrics", metrics_view, name="metrics"),
    # The public endpoints of resource servers and token holders (tokens/validation/views.py).
    path("", include("tokens.validation.urls")),
    # Leaked tokens (issue 24): what secret scanners report (tokens/leaks/views.py).
    path("", include("tokens.leaks.urls")),
    # Sign-in and the profile site.
    path("", include("accounts.urls")),
    path("", include("tokens.web.urls")),
    # Token requests that admins approve (issue 23, approval).
    path("", include("approvals.urls")),
    # SCIM 2.0 provisioning from identity providers (issue 22).
    path("scim/v2/", include("scim.urls")),
]

# A database out of reach is a 503 "back shortly" page, whatever part of a request met it.
handler500 = "common.views.server_error"
