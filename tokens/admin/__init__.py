# Each module registers its admins when it is imported.
from tokens.admin import applications, tokens, users  # noqa: F401
