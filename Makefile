# AllaweePlus — `make run` and `make test` are the two commands (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A Python 3.12+ for uv: $PYTHON, then pyenv versions, then python3.13/3.12/python3 on PATH.
PYTHON ?= $(shell for p in $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V) python3.12 python3.13 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$p; break; }; done)
UV ?= $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export UV_PYTHON := $(PYTHON)
export UV_LINK_MODE := copy
RUN := $(UV) run --frozen
# deploy/prod-local.sh runs `uv` by name: put the directory of the uv binary on PATH (pip's uv
# lives beside the Python that installed it, which need not be on PATH).
UV_ON_PATH = PATH="$$(command -v uv >/dev/null 2>&1 && dirname "$$(command -v uv)" || \
	$(PYTHON) -c 'import os, uv; print(os.path.dirname(uv.find_uv_bin()))'):$$PATH"
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in e-mails and SMS point at the server `make run` starts (`make run PORT=8080`).
SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: help venv run test lint migrations-check deploy-check pytest test-e2e test-postgres bench bench-api bench-growth bench-load clean \
	prod-local prod-local-stop test-prod-local

help:
	@echo "make run    - set up, migrate, load demo data, start web server + task worker"
	@echo "make test   - lint, migration and deploy checks, the whole unit/integration suite"
	@echo "make test-e2e / test-postgres / bench / bench-load - see README"

venv:
	@test -n "$(PYTHON)" || { echo "No Python 3.12+ found: install one or set PYTHON=/path/to/python3.12"; exit 1; }
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

run: venv
	@mkdir -p var
	DEBUG=true $(RUN) python manage.py migrate --noinput
	DEBUG=true $(RUN) python manage.py seed_demo
	@echo ""
	@echo "AllaweePlus is starting on http://$(HOST):$(PORT)/  (Ctrl-C stops the web server and the worker)"
	@trap 'kill 0' INT TERM EXIT; \
	DEBUG=true SITE_URL=$(SITE_URL) $(RUN) python manage.py run_huey --quiet & \
	DEBUG=true SITE_URL=$(SITE_URL) $(RUN) python manage.py runserver $(HOST):$(PORT)

lint: venv
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports
	DEBUG=true $(RUN) mypy
	git ls-files -z '*.py' | xargs -0 $(RUN) django-upgrade --target-version 6.1 --skip permalink --check

migrations-check: venv
	DEBUG=true $(RUN) python manage.py makemigrations --check --dry-run

# Production-like variables: check --deploy must be clean (warnings fail the build).
deploy-check: venv
	DEBUG=false ALLOWED_HOSTS=allaweeplus.example \
	SECRET_KEY="ci-$$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 60)" \
	PII_ENCRYPTION_KEYS="$$($(RUN) python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
	PII_HMAC_KEY="$$(head -c 32 /dev/urandom | base64)" MFA_REQUIRED_FOR_STAFF=true \
	$(RUN) python manage.py check --deploy --fail-level WARNING

pytest: venv
	$(RUN) pytest -m "not e2e" -n $${PYTEST_WORKERS:-2} --durations=15 $(PYTEST_ARGS)

test: lint migrations-check deploy-check pytest

test-e2e: venv
	$(RUN) pytest -m e2e -p no:xdist $(PYTEST_ARGS)

# The same suite against the local PostgreSQL and Redis (what .ci/run does in CI).
test-postgres: venv
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/allaweeplus} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(RUN) pytest -m "not e2e" -n $${PYTEST_WORKERS:-2} $(PYTEST_ARGS)

# Benchmarks against the local PostgreSQL and Redis (see README); not part of make test.
bench: venv
	$(RUN) python bench/amount_parse.py
	$(RUN) python bench/assessment_latency.py --count $${BENCH_COUNT:-200}
	$(RUN) python bench/overdue_run.py --loans $${BENCH_LOANS:-170000}
	$(RUN) python bench/login_latency.py --count $${BENCH_LOGINS:-100}
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'allaweeplus_scale_bench'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE allaweeplus_scale_bench"
	$(RUN) python bench/list_pages.py --database allaweeplus_scale_bench --seed $${BENCH_SCALE_MEMBERS:-500000}
	$(RUN) python bench/growth.py
	$(RUN) python bench/api_throughput.py --applications $${BENCH_APPLICATIONS:-1000000}
	$(MAKE) --no-print-directory bench-load

# Pages on ~100k against ~1M rows (two databases seeded by seed_scale, kept between runs).
bench-growth: venv
	$(RUN) python bench/growth.py

# The load test: locust (members, officers, API clients) against gunicorn in production settings
# on a seeded PostgreSQL database and Redis db 12; bounded (BENCH_USERS users, BENCH_SECONDS s).
bench-load: venv
	$(RUN) python bench/load_test.py --users $${BENCH_USERS:-50} --seconds $${BENCH_SECONDS:-60} \
		--members $${BENCH_LOAD_MEMBERS:-20000} $(BENCH_LOAD_ARGS)

# JSON API throughput under gunicorn (production config) on a seeded PostgreSQL database.
bench-api: venv
	$(RUN) python bench/api_throughput.py --applications $${BENCH_APPLICATIONS:-1000000}

# The production stack on loopback: PostgreSQL, Redis, two gunicorn instances, the Huey
# worker and nginx with a self-signed certificate (https://127.0.0.1:8443/).
prod-local: venv
	$(UV_ON_PATH) bash deploy/prod-local.sh start

prod-local-stop: venv
	$(UV_ON_PATH) bash deploy/prod-local.sh stop

test-prod-local: venv
	$(UV_ON_PATH) RUN_PROD_LOCAL=true $(RUN) pytest tests/deploy/test_prod_local.py -q -p no:xdist

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
