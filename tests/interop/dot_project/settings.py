"""A resource server built on django-oauth-toolkit, configured only with its documented settings.

It runs in a process of its own (tests/interop/dot_project/serve.py) and asks the live portal
whether a token is active; nothing here imports the portal.
"""

import os

SECRET_KEY = "interop-test-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "tests.interop.dot_project.urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "oauth2_provider",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DOT_DATABASE"]}
}
# A throw-away database: tables made straight from the models, a second rather than many.
MIGRATION_MODULES = {"auth": None, "contenttypes": None, "oauth2_provider": None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Its refusals (and why) go to the server log the test fixture keeps.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": os.environ.get("DOT_LOG_LEVEL", "WARNING")},
}

OAUTH2_PROVIDER = {
    "RESOURCE_SERVER_INTROSPECTION_URL": os.environ["DOT_INTROSPECTION_URL"],
    "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": (
        os.environ["DOT_CLIENT_ID"],
        os.environ["DOT_CLIENT_SECRET"],
    ),
    # The guide's advice (docs/resource-servers.md): the least that works. The default, 36,000 s,
    # keeps a revoked token working for ten hours; 0 refuses every token (the answer is stored
    # already expired, and the check right after reads it as expired).
    "RESOURCE_SERVER_TOKEN_CACHING_SECONDS": 1,
}
