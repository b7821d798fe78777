from importlib import import_module

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with the portal's site (dashboard, section order) as its default.

    Here, not in the admin package: importing that package imports models, before the app
    registry that names this class is ready.
    """

    default_site = "tokens.admin.site.PortalAdminSite"
    # INSTALLED_APPS names it; "tokens" alone means TokensConfig.
    default = False

    def ready(self) -> None:
        # The site lives in the tokens.admin package, whose modules register their admins on it
        # as they are imported. Imported here first, the package makes the site once; had
        # another app's admin asked for the site first, importing the package from inside that
        # request would make a second site, and the first one's registrations would be lost.
        import_module("tokens.admin")
        super().ready()


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Tokens"

    def ready(self) -> None:
        from django.db import transaction
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from accounts.models import User
        from tokens.models import ReferenceToken
        from tokens.validation.cache import forget_locally
        from trustedapps.models import ResourceServer, Scope, TrustedApplication

        # The database announces every change to every worker; the process that made one must
        # not answer from its cache even for the moment the announcement takes to come back.
        def forget_all(sender, update_fields=None, **kwargs) -> None:
            if update_fields is not None and set(update_fields) <= {"last_login"}:
                return  # a sign-in changes nothing a check reads
            transaction.on_commit(forget_locally)

        def forget_token(sender, instance, **kwargs) -> None:
            transaction.on_commit(lambda: forget_locally([instance.token_hash]))

        for model in (User, TrustedApplication, ResourceServer, Scope):
            post_save.connect(forget_all, sender=model, dispatch_uid=f"token-cache-{model}")
            post_delete.connect(forget_all, sender=model, dispatch_uid=f"token-cache-d-{model}")
        for through in (
            User.groups.through,
            User.user_permissions.through,
            TrustedApplication.allowed_scopes.through,
            ResourceServer.scopes.through,
            ReferenceToken.scopes.through,
        ):
            m2m_changed.connect(forget_all, sender=through, dispatch_uid=f"token-cache-{through}")
        post_save.connect(forget_token, sender=ReferenceToken, dispatch_uid="token-cache-token")
        post_delete.connect(forget_token, sender=ReferenceToken, dispatch_uid="token-cache-d-token")
