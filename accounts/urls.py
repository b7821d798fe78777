from django.urls import include, path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    # Sign-in, sign-out, second factors, password and sessions: django-allauth (issue 21). The
    # old addresses send there, keeping the method (308).
    path("accounts/", include("allauth.urls")),
    path("login/", views.moved_to("account_login"), name="login"),
    path("logout/", views.moved_to("account_logout"), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/security/", views.profile, name="profile_security"),
    path("profile/notifications/", views.notifications, name="notifications"),
    path(
        "profile/security/sessions/<int:session_id>/end/",
        views.end_session,
        name="end_session",
    ),
]
