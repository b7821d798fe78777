from django.apps import AppConfig


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
