from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Common"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from common import checks  # noqa: F401 (registers the deploy checks)
        from common.middleware import forget_statement_timeout

        connection_created.connect(forget_statement_timeout, dispatch_uid="portal-timeout")
