# The two commands of the README: `make run` and `make test`. Everything else is theirs to call.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# `make run PORT=8001` serves on another port (`make serve PORT=8001` too).
PORT ?= 8000

.PHONY: run serve test lint bench stress install clean check-port

# The portal's default is production (DEBUG off, which needs a SECRET_KEY). `make run` and
# `make test` are development, so they turn DEBUG on for what they run, whatever the environment
# or .env says (`make run DEBUG=false` still wins). `make serve` stays production.
run lint test: export DEBUG = true

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	rm -f $(VENV)/.installed-*
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

# The port first: a busy one fails fast, before anything is migrated or seeded.
check-port:
	@$(PYTHON) -c 'import socket as k, sys; s = k.socket(); s.setsockopt(k.SOL_SOCKET, k.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' \
		$(PORT) 2>/dev/null || { echo "make run: port $(PORT) on 127.0.0.1 is busy (or not a port)." \
		"Stop what listens there, or choose another: make run PORT=8001" >&2; exit 1; }

run: check-port install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --port $(PORT)
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Production: static files collected, then granian (config/serve.py). Migrations are a
# step of their own (docs/deploy.md): with several nodes, run them once, before the nodes.
serve: install
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python -m config.serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# Single sign-on (issue 22): the test OpenID provider's packages (tests/oidc), installed from
# its lock file when node_modules is missing or older than the lock file, and only where npm
# is (without it, those tests skip and say why).
OIDC_PACKAGES := $(if $(shell command -v npm 2>/dev/null),tests/oidc/node_modules/.package-lock.json)
test: $(OIDC_PACKAGES)
tests/oidc/node_modules/.package-lock.json: tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error

bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Races against gunicorn on PostgreSQL (a throw-away database beside DATABASE_URL's); not in test.
stress: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal} $(BIN)/python bench/stress.py $(STRESS_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles artifacts .demo-credentials.json
