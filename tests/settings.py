"""The test suite's settings: the portal's own (config/settings.py), in development mode.

Production is the portal's default (DEBUG off unless set). The suite is development, whoever starts
it (`make test` or a bare `pytest`): DEBUG goes into the environment before the settings read it,
so that what follows from it at import (the development key, static files without a manifest,
cookies without `Secure` for the test servers' plain HTTP) follows, and the commands that tests
start as processes of their own inherit it. Django's test runner then turns DEBUG itself off
while tests run, as it always does.
"""

import os

os.environ["DEBUG"] = "true"

from config.settings import *  # noqa: F403
