"""Production settings for `make stress`, whose client reads pages but never their static files.

Only the static storage differs: production's manifest storage needs `collectstatic` first.
"""

from config.settings import *  # noqa: F403
from config.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

import warnings  # noqa: E402

warnings.filterwarnings("ignore", "No directory at", UserWarning)

# Issuing sends the owner a notice; the races' notices are not this command's output.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
