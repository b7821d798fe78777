from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Signing in counts as a password confirmation for sudo mode (accounts/sudo.py).
        from accounts import sudo  # noqa: F401
