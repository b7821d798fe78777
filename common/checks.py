"""`check --deploy` warnings for what Django's own checks do not know about this portal."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_mail(app_configs, **kwargs) -> list[Warning]:
    if settings.EMAIL_BACKEND.endswith(
        ("console.EmailBackend", "ConsoleEmailBackend", "dummy.EmailBackend")
    ):
        return [
            Warning(
                "Mail goes to the console: expiry notices and error reports reach nobody.",
                hint="Set EMAIL_URL, e.g. smtp+tls://user:password@mail.example.com:587.",
                id="portal.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_proxy(app_configs, **kwargs) -> list[Warning]:
    if settings.SECURE_SSL_REDIRECT and not settings.SECURE_PROXY_SSL_HEADER:
        return [
            Warning(
                "SECURE_SSL_REDIRECT is on, but SECURE_PROXY_SSL_HEADER is not set: behind a "
                "TLS-terminating proxy every request would be redirected forever.",
                hint="Set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https when a proxy "
                "terminates TLS (and sets that header).",
                id="portal.W002",
            )
        ]
    return []
