from django.urls import path

from tokens import api

urlpatterns = [
    path("connect/introspect", api.introspect_view, name="introspect"),
]
