from django.urls import path

from tokens.leaks import views

urlpatterns = [
    path("api/leaks/github", views.github_view, name="leaks-github"),
    # GitLab is configured with these two URLs (docs/leaked-tokens.md).
    path(
        "api/leaks/gitlab/v1/revocable_token_types",
        views.gitlab_token_types_view,
        name="leaks-gitlab-types",
    ),
    path(
        "api/leaks/gitlab/v1/revoke_tokens",
        views.gitlab_revoke_tokens_view,
        name="leaks-gitlab-revoke",
    ),
]
