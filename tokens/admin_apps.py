from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """Django's admin, with the portal's site (dashboard, section order) as its default."""

    default_site = "tokens.admin_site.PortalAdminSite"
