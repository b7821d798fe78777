from django.contrib import admin

from tokens.models import ReferenceToken, TokenEvent


@admin.register(ReferenceToken)
class ReferenceTokenAdmin(admin.ModelAdmin):
    list_display = ["hint", "kind", "user", "application", "created_at", "expires_at", "revoked_at"]
    list_select_related = ["user", "application"]
    exclude = ["token_hash"]
    readonly_fields = [
        "kind",
        "user",
        "application",
        "created_by",
        "description",
        "scopes",
        "hint",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "revoked_at",
        "revoked_by",
        "revocation_reason",
    ]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(TokenEvent)
class TokenEventAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "token", "actor", "ip"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
