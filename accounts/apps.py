from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # The sign-in security events (signals), sign-in as a password confirmation for sudo
        # mode (sudo), and the session timeouts that start at sign-in (sessions); allauth's
        # confirmations (reauthentication) as sudo mode's (allauth), and the account security
        # notices (notices, issue 21).
        from accounts import allauth, notices, sessions, signals, sudo  # noqa: F401
