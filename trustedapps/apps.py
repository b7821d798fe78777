from django.apps import AppConfig


class TrustedAppsConfig(AppConfig):
    name = "trustedapps"
    verbose_name = "Security"
