from django.urls import path

from bench.views import baseline_view, cache_stats_view, ceiling_view, change_view
from config.urls import urlpatterns as portal_urlpatterns

urlpatterns = [
    path("bench/ceiling", ceiling_view),
    path("bench/baseline", baseline_view),
    path("bench/cache-stats", cache_stats_view),
    path("bench/change", change_view),
    *portal_urlpatterns,
]
