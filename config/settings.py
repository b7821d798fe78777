"""Settings for the token portal: every environment-dependent value is read here, and only here."""

import ipaddress
import os
from email.utils import getaddresses
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config import oidc

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# Production is the default: debug pages and the development key only where DEBUG is set on
# (`make run` and `make test` set it for themselves; so do tests/settings.py for pytest).
DEBUG = env.bool("DEBUG", default=False)

# A development key only while DEBUG is on: a production node must never start with a known key.
_DEVELOPMENT_SECRET_KEY = "insecure-development-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="") or (_DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is off (DEBUG is off unless set: production is the "
        "default). On a developer's machine, `make run` and `make test` turn DEBUG on; for "
        "other commands there, `export DEBUG=true` (or put DEBUG=true in .env)."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="").rstrip("/")

# The caller's address (common.http.remote_address): how many proxies in front of the portal append
# to X-Forwarded-For, and the networks those proxies connect from. Believing the header from any
# peer would let a caller that goes around the proxy choose its address (and read /metrics, or
# escape a sign-in lockout), so a count comes with its networks or the portal does not start.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXY_NETWORKS = env.list("TRUSTED_PROXY_NETWORKS", default=[])
if TRUSTED_PROXY_COUNT > 0 and not TRUSTED_PROXY_NETWORKS:
    raise ImproperlyConfigured(
        f"TRUSTED_PROXY_COUNT is {TRUSTED_PROXY_COUNT} but TRUSTED_PROXY_NETWORKS is empty: "
        "X-Forwarded-For would be believed from any peer. Set TRUSTED_PROXY_NETWORKS to the "
        "networks your proxy connects from (e.g. 127.0.0.1/32,::1/128 for nginx on the same "
        "machine), or TRUSTED_PROXY_COUNT=0 without a proxy."
    )
for _network in TRUSTED_PROXY_NETWORKS:
    try:
        ipaddress.ip_network(_network.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXY_NETWORKS: {_network!r} is not a network, e.g. 10.0.0.0/8 or ::1/128."
        ) from None

# HTTPS behind a TLS-terminating proxy. The header is opt-in: trusting it without such a proxy
# would let any caller claim HTTPS.
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER takes a header and a value, e.g. HTTP_X_FORWARDED_PROTO,https"
        )
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Load balancers and Prometheus ask these over plain HTTP, straight at a node.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Subdomains and preload bind the whole domain, so they stay off unless asked; a value given
# explicitly is the operator's decision, and `check --deploy` stops nudging about it.
SILENCED_SYSTEM_CHECKS = [
    check
    for variable, check in [
        ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "security.W005"),
        ("SECURE_HSTS_PRELOAD", "security.W021"),
    ]
    if variable in os.environ
]

INSTALLED_APPS = [
    # Django's admin with the portal's site: a dashboard, sections in working order.
    "tokens.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "csp",
    "common",
    "accounts",
    "trustedapps",
    "tokens",
    # SCIM 2.0 provisioning from identity providers (issue 22).
    "scim",
    # Leaked tokens (issue 24): the scanners that report them.
    "tokens.leaks",
    # Token requests that admins approve (issue 23, approval).
    "approvals",
]

MIDDLEWARE = [
    # First: every log line of the request, and its response, carry one request id.
    "common.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Statement timeouts for web requests, and 503 rather than 500 when the database fails.
    "common.middleware.DatabaseTimeoutMiddleware",
    # The public endpoints (views marked common.middleware.lean) stop here: what follows serves
    # only the HTML pages, and cost them as much as a cached token check (measured in the README).
    "common.middleware.LeanEndpointMiddleware",
    # Before anything reads the database: a NUL in an admin address is refused (common/).
    "common.middleware.AdminQueryGuardMiddleware",
    # A view that finds the database gone answers the portal's 503 page (config.urls has the
    # same for failures outside views).
    "common.middleware.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Moves a signed-in session's expiry on (idle and absolute timeouts), at most every 5 minutes.
    "accounts.sessions.SessionActivityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Without persistent connections every request pays for a new PostgreSQL connection.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    # A ping before each request's first query: the price of never serving a request on a
    # connection the database has dropped (make bench measures it; see the README).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
    # A database that does not answer fails a request in seconds instead of hanging it.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=5
    )
# Longest a web request's SQL statement may run (ms; 0: no limit), and the shorter one of the
# validation URL, which resource servers call on every API call. Commands are never limited.
DATABASE_STATEMENT_TIMEOUT = env.int("DATABASE_STATEMENT_TIMEOUT", default=2000)
DATABASE_VALIDATION_STATEMENT_TIMEOUT = env.int(
    "DATABASE_VALIDATION_STATEMENT_TIMEOUT", default=500
)
DATABASES["default"].setdefault("TEST", {})
if env.str("TEST_DATABASE_NAME", default=""):
    # Lets two test runs share one PostgreSQL server without dropping each other's database.
    DATABASES["default"]["TEST"]["NAME"] = env.str("TEST_DATABASE_NAME")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    # First, so that a throttled username and address is refused before any password check.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.PeopleOnlyBackend",
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "account_login"

# Failed sign-ins: a cool-off per username and address (django-axes), and one per username from
# any address after more failures (the portal's, accounts/lockout.py); never a permanent lock.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_USERNAME_FAILURE_LIMIT = env.int("AXES_USERNAME_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False
# The same caller's address as the audit trail's (TRUSTED_PROXY_COUNT): behind a proxy a lock
# then holds one username at one real address, not at the proxy's for everyone.
AXES_CLIENT_IP_CALLABLE = "common.http.remote_address"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# config/formats/en/formats.py: one date format ("28 Dec 2026") in the profile and the admin.
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# A signed-in session ends after this long without a request, and this long after signing in
# whatever happens (accounts/sessions.py). A day bounds what a stolen session cookie is worth;
# a person who signs in for a day's work does not meet it.
SESSION_IDLE_TIMEOUT = round(env.float("SESSION_IDLE_TIMEOUT_HOURS", default=12) * 3600)
SESSION_ABSOLUTE_TIMEOUT = round(env.float("SESSION_ABSOLUTE_TIMEOUT_HOURS", default=24) * 3600)
# A session that is not signed in (a message between two pages) lasts as long as an idle one.
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Longest lifetime of a token where its trusted application sets none.
TOKEN_MAX_LIFETIME_DAYS = env.int("TOKEN_MAX_LIFETIME_DAYS", default=365)
# last_used_at is written at most once per this many seconds per token.
TOKEN_LAST_USED_INTERVAL = env.int("TOKEN_LAST_USED_INTERVAL", default=60)

# Content-Security-Policy: nothing inline, nothing from elsewhere. Every page (the admin's too)
# loads its scripts and styles from static files; `csp_nonce` is there for the exception.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
# No page needs any of these browser features (the copy button uses clipboard-write, allowed on
# same-origin pages by default).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in [
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    ]
}

# Mail: the owners' notices (tokens/domain/notices.py) and error reports. EMAIL_URL as
# django-environ reads it (the URL becomes EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, ...), e.g.
# smtp+tls://user:password@smtp.example.com:587; the default prints messages on the console, on
# stderr: stdout belongs to what a command prints for scripts (a token, a secret).
_email = env.email_url("EMAIL_URL", default="consolemail://")
if _email["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
    _email["EMAIL_BACKEND"] = "common.mail.ConsoleEmailBackend"
vars().update(_email)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Token portal <noreply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default="root@localhost")
# Who gets error reports: "Ann Admin <ann@example.com>, ops@example.com".
ADMINS = [(name, addr) for name, addr in getaddresses([env.str("ADMINS", default="")]) if addr]
# Also told about every service token's notices (expiring, revoked by someone else); optional.
OPERATIONS_EMAIL = env.str("OPERATIONS_EMAIL", default="")

# --- Account security: django-allauth (issue 21) -------------------------------------------
# Sign-in, second factors (authenticator app, recovery codes, security keys and passkeys),
# password change and reset, and the list of signed-in sessions, all under /accounts/. Every
# allauth setting is here, in one block; single sign-on (allauth.socialaccount) joins it here.
INSTALLED_APPS += [
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
]
# After AuthenticationMiddleware, before AxesMiddleware (which stays last).
MIDDLEWARE[MIDDLEWARE.index("axes.middleware.AxesMiddleware") : 0] = [
    "allauth.account.middleware.AccountMiddleware",
]
ACCOUNT_ADAPTER = "accounts.allauth.PortalAccountAdapter"
# Accounts are made by administrators: nobody signs up, and people sign in with a username.
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = False
# A reset asked for an address nobody has sends nothing, and says the same as for a known one.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# No "remember me": the portal's own timeouts (accounts/sessions.py) decide a session's life.
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_REDIRECT_URL = LOGOUT_REDIRECT_URL
# A password change or reset signs out every other session (Django's session hash does so for
# the others); the person stays signed in where they changed it.
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Token portal: "
ACCOUNT_FORMS = {"login": "accounts.allauth.SignInForm"}
# django-axes counts failed sign-ins (per username and address, and per username): allauth's own
# counters of sign-ins are off so that the two never disagree (nor hold back an office behind
# one address). Its other limits (password reset, reauthentication, second factor) stay.
ACCOUNT_RATE_LIMITS = {"login_failed": False, "login": False}
# Reauthentication (sudo mode) lasts as long as REAUTH_MAX_AGE says (below).
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("REAUTH_MAX_AGE", default=15 * 60)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Token portal")
MFA_FORMS = {
    "authenticate": "accounts.factor_forms.SecondFactorForm",
    "reauthenticate": "accounts.factor_forms.ReconfirmCodeForm",
}
# Browsers allow WebAuthn on http://localhost only while developing.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# A session's row is written when it signs in, and its last activity with the session's own
# expiry (accounts/sessions.py, at most every 5 minutes), not on every request.
USERSESSIONS_TRACK_ACTIVITY = False
# Who must have a second factor: none, admins (staff and superusers) or everyone; and the days
# a person without one has (from the first time the policy finds them so) before they can no
# longer create or rotate tokens (accounts/mfa_policy.py). Production: everyone.
MFA_REQUIRED = env.str("MFA_REQUIRED", default="none")
if MFA_REQUIRED not in {"none", "admins", "everyone"}:
    raise ImproperlyConfigured("MFA_REQUIRED is none, admins or everyone.")
MFA_GRACE_DAYS = env.int("MFA_GRACE_DAYS", default=14)
# The banner of the grace period, on every page of a person it concerns.
_template_options: dict[str, list[str]] = TEMPLATES[0]["OPTIONS"]  # type: ignore[assignment]
_template_options["context_processors"].append("accounts.mfa_policy.banner")
# --- end of account security ---------------------------------------------------------------

# --- Single sign-on: OpenID Connect (issue 22, docs/sso.md) --------------------------------
# Providers come from OIDC_PROVIDERS (JSON, config/oidc.py), never from the database: allauth's
# own "social applications" admin is hidden. Without a provider the sign-in page is as before.
try:
    OIDC_PROVIDERS = oidc.parse(env.str("OIDC_PROVIDERS", default=""))
except oidc.ProviderConfigError as error:
    raise ImproperlyConfigured(str(error)) from None
INSTALLED_APPS += [
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    # The providers and people's links in the admin; after scim, whose person page it extends.
    "sso",
]
SOCIALACCOUNT_ADAPTER = "accounts.sso.PortalSocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = oidc.socialaccount_providers(OIDC_PROVIDERS)
# A first sign-in of someone the portal does not know makes their account (without a usable
# password), or is refused with a page saying to ask an administrator.
OIDC_CREATE_USERS = env.bool("OIDC_CREATE_USERS", default=True)
# People are found by the provider's `sub`. Off (the default), an existing person is never
# found by e-mail; on, by an address the provider says is verified (email_verified), and the
# link is kept (accounts/sso.py; never a superuser or a system user).
OIDC_LINK_VERIFIED_EMAIL = env.bool("OIDC_LINK_VERIFIED_EMAIL", default=False)
# Password sign-in is refused to people linked to a configured provider (the organisation's
# sign-in policy, its MFA, applies to all of them); superusers keep theirs (break glass).
SSO_ONLY = env.bool("SSO_ONLY", default=False)
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
# The provider's tokens are used once, to learn who signed in, and never kept.
SOCIALACCOUNT_STORE_TOKENS = False
# "Sign in with" is a form (POST); a bare link to the login URL only shows it.
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = env.int("OIDC_REQUESTS_TIMEOUT", default=5)
# The "Sign in with" form posts here, and the portal redirects to the provider: browsers hold
# that redirect to the form-action of the page the form was on.
_csp_directives: dict[str, list[str]] = CONTENT_SECURITY_POLICY["DIRECTIVES"]
_csp_directives["form-action"] = [SELF, *oidc.form_action_origins(OIDC_PROVIDERS)]
# --- end of single sign-on -----------------------------------------------------------------

# Sudo mode: creating or rotating a credential asks for the password again once the last
# confirmation (or sign-in) is older than this many seconds.
REAUTH_MAX_AGE = env.int("REAUTH_MAX_AGE", default=15 * 60)

# Logs: plain text for people, or one JSON object per line (LOG_FORMAT=json) for log shippers.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT is text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request": {"()": "common.logs.RequestContextFilter"},
        "production": {"()": "django.utils.log.RequireDebugFalse"},
        "not_an_answered_outage": {"()": "common.logs.NotAnAnsweredOutage"},
    },
    "formatters": {
        "text": {"()": "common.logs.TextFormatter"},
        "json": {"()": "common.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request"],
            "formatter": LOG_FORMAT,
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["production"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's errors reach the console once (through root), and ADMINS by mail.
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        # A database outage is logged once (portal.database), not as each request's error.
        "django.request": {"filters": ["not_an_answered_outage"]},
    },
}

# GET /metrics: for these networks, or for a scraper sending `Authorization: Bearer <secret>`.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
METRICS_BEARER_TOKEN = env.str("METRICS_BEARER_TOKEN", default="")

# Leaked tokens (issue 24, docs/leaked-tokens.md). GitHub signs its secret scanning reports with
# the keys published at LEAKS_GITHUB_KEYS_URL; a machine without internet reads a copy of that
# document from LEAKS_GITHUB_KEYS_FILE instead (set, it wins). A report's body is at most
# LEAKS_MAX_BODY_BYTES (GitHub sends up to 1,000 tokens in one).
LEAKS_GITHUB_KEYS_URL = env.str(
    "LEAKS_GITHUB_KEYS_URL", default="https://api.github.com/meta/public_keys/secret_scanning"
)
LEAKS_GITHUB_KEYS_FILE = env.str("LEAKS_GITHUB_KEYS_FILE", default="")
LEAKS_MAX_BODY_BYTES = env.int("LEAKS_MAX_BODY_BYTES", default=1024 * 1024)
# Requests a minute each reporter of the GitLab-shaped Token Revocation API may make; past it, 429.
LEAKS_RATE_LIMIT_PER_MINUTE = env.int("LEAKS_RATE_LIMIT_PER_MINUTE", default=60)

# The token lookup of the validation URL runs as a PostgreSQL prepared statement (planning its
# join costs several times its execution). Turn off behind PgBouncer < 1.21 in transaction mode.
TOKEN_PREPARED_LOOKUP = env.bool("TOKEN_PREPARED_LOOKUP", default=True)

# The per-process cache of validation facts (tokens/validation/cache.py), kept true by PostgreSQL's
# LISTEN/NOTIFY; SQLite has no LISTEN, so there the cache is off and every check asks the database.
_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
TOKEN_CACHE = env.bool("TOKEN_CACHE", default=_POSTGRESQL) and _POSTGRESQL
# Entries (a token as one caller sees it) held per worker process, least recently used going
# first, and the safety TTL in seconds.
TOKEN_CACHE_SIZE = env.int("TOKEN_CACHE_SIZE", default=10_000)
TOKEN_CACHE_TTL = env.float("TOKEN_CACHE_TTL", default=60.0)
# Each listener sends itself a heartbeat through the default database every quarter of this, and
# the cache is trusted only while one sent within the last this many seconds came back: the
# longest a change can go unseen when a listener silently stops hearing.
TOKEN_CACHE_PROBE_DEADLINE = env.float("TOKEN_CACHE_PROBE_DEADLINE", default=5.0)
if not TOKEN_CACHE_PROBE_DEADLINE > 0:
    raise ImproperlyConfigured("TOKEN_CACHE_PROBE_DEADLINE is a number of seconds above 0.")
# The listener's own connection, straight to PostgreSQL: a transaction-mode pooler (PgBouncer)
# cannot carry LISTEN. Empty: the default database's connection settings.
TOKEN_CACHE_LISTEN_URL = env.str("TOKEN_CACHE_LISTEN_URL", default="")
# Seconds between two writes of the buffered last-use records (0: each check writes itself).
TOKEN_LAST_USED_FLUSH = env.float("TOKEN_LAST_USED_FLUSH", default=5.0 if _POSTGRESQL else 0.0)

# Token requests (issue 23, approval): days a request waits for a decision, and an approved one
# for its pick-up, before it expires.
TOKEN_REQUEST_EXPIRY_DAYS = env.int("TOKEN_REQUEST_EXPIRY_DAYS", default=7)
