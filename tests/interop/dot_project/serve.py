"""Migrate the resource server's own database, bind a free port, print it, serve until killed.

`python -m tests.interop.dot_project.serve LOW-HIGH` (or `0`: any free port). The port is bound
here, before it is printed, so no other process can take it in between.
"""

import os
import sys


def _bind(ports: str):
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

    low, _, high = ports.partition("-")
    candidates = range(int(low), int(high or low) + 1)
    for port in candidates:
        try:
            return WSGIServer(("127.0.0.1", port), WSGIRequestHandler, ipv6=False)
        except OSError:
            continue
    sys.exit(f"no free port in {ports}")


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.interop.dot_project.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", run_syncdb=True, verbosity=0)
    server = _bind(sys.argv[1] if len(sys.argv) > 1 else "0")
    server.set_app(get_wsgi_application())
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
