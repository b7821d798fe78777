from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from trustedapps.models import ResourceServer, Scope, TokenPolicy, TrustedApplication

DEMO_PASSWORD = "demo-password-123"
DEMO_SERVER = "demo-api"


class Command(BaseCommand):
    help = (
        "Load idempotent demo data: an admin, a user, two trusted applications and a resource "
        "server. Prints the sign-ins and the resource server's credentials (its secret is "
        "rotated on every run, since only its hash is kept)."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        read, update = Scope.objects.get(name="read"), Scope.objects.get(name="update")
        admin = _person("admin", "Ada", "Admin", superuser=True)
        _person("alice", "Alice", "Example")

        sync, _ = TrustedApplication.objects.get_or_create(
            application_uri="com.example/sync",
            defaults={
                "name": "Example Sync",
                "token_policy": TokenPolicy.AUTHENTICATED_USERS,
                "has_system_user": True,
                "notes": "Any signed-in user may create personal tokens for it.",
            },
        )
        sync.allowed_scopes.add(read, update)
        reports, _ = TrustedApplication.objects.get_or_create(
            application_uri="com.example/reports",
            defaults={
                "name": "Example Reports",
                "token_policy": TokenPolicy.ADMINISTRATORS_ONLY,
                "has_system_user": True,
                "max_token_lifetime_days": 90,
                "notes": "Only administrators may create tokens for it.",
            },
        )
        reports.allowed_scopes.add(read)

        server = ResourceServer.objects.filter(client_id=DEMO_SERVER).first() or ResourceServer(
            client_id=DEMO_SERVER, name="Demo API"
        )
        secret = server.set_secret()
        server.save()
        server.scopes.add(read, update)

        self.stdout.write(
            f"Demo sign-ins (password for both: {DEMO_PASSWORD}):\n"
            f"  alice  a person                http://127.0.0.1:8000/\n"
            f"  {admin.username}  instance administrator  http://127.0.0.1:8000/admin/\n"
            f"Resource server: client_id={DEMO_SERVER} client_secret={secret}\n"
        )


def _person(username: str, first: str, last: str, superuser: bool = False) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        create = User.objects.create_superuser if superuser else User.objects.create_user
        user = create(username, f"{username}@example.com", DEMO_PASSWORD)
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
    return user
