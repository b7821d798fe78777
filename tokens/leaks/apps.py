from django.apps import AppConfig


class LeaksConfig(AppConfig):
    """Leaked tokens (issue 24): the scanners allowed to report them, and their admin."""

    name = "tokens.leaks"
    label = "leaks"
    verbose_name = "Leaked tokens"
