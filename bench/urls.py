from django.urls import path

from bench.views import baseline_view
from config.urls import urlpatterns as portal_urlpatterns

urlpatterns = [
    path("bench/baseline", baseline_view),
    *portal_urlpatterns,
]
