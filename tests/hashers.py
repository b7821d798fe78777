from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 still (the same "argon2" hashes), at a cost that suits a test suite."""

    time_cost = 1
    memory_cost = 256
    parallelism = 1
