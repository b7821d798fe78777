from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # The sign-in security events (signals), and sign-in as a password confirmation for sudo
        # mode (sudo).
        from accounts import signals, sudo  # noqa: F401
