from django.contrib import admin

from trustedapps.models import ResourceServer, Scope, TrustedApplication


@admin.register(Scope)
class ScopeAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]


@admin.register(TrustedApplication)
class TrustedApplicationAdmin(admin.ModelAdmin):
    list_display = ["name", "application_uri", "token_policy", "has_system_user", "is_enabled"]
    filter_horizontal = ["allowed_scopes"]


@admin.register(ResourceServer)
class ResourceServerAdmin(admin.ModelAdmin):
    list_display = ["client_id", "name", "is_enabled"]
    exclude = ["secret_hash"]
    filter_horizontal = ["scopes"]
