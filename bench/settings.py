"""Production settings plus the benchmark's baseline URL. Only `bench/run.py` uses this module.

`run.py` sets DEBUG=0, SECRET_KEY and DATABASE_URL in the environment before Django reads them, so
everything else (persistent connections, middleware, whitenoise) is exactly what production runs.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The benchmark serves no static files; WhiteNoise's "no collected files" warning is noise here.
import warnings  # noqa: E402

warnings.filterwarnings("ignore", "No directory at", UserWarning)

# The owners' notices of the tokens the benchmark issues would fill its output.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
