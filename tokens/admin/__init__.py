"""The portal's admin: its site, and one module per admin, each registering what it defines.

The admin's app config (tokens.apps.PortalAdminConfig) imports this package before any app's
admin asks for the site, so that the site is made once.
"""

from tokens.admin import applications, events, policies, site, tokens, users  # noqa: F401
