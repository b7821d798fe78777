from importlib import import_module

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """Django's admin, with the portal's site (dashboard, section order) as its default."""

    default_site = "tokens.admin.site.PortalAdminSite"

    def ready(self) -> None:
        # The site lives in the tokens.admin package, whose modules register their admins on it as
        # they are imported. Imported here first, the package makes the site once; had another
        # app's admin asked for the site first, importing the package from inside that request
        # would make a second site, and the first one's registrations would be lost.
        import_module("tokens.admin")
        super().ready()
