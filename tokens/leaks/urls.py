from django.urls import path

from tokens.leaks import views

urlpatterns = [
    path("api/leaks/github", views.github_view, name="leaks-github"),
]
