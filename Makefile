# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HTMX := node_modules/htmx.org/dist/htmx.min.js
PORT ?= 8000
export PORT
# The UI's Chinese catalogue: edited as .po, compiled to .mo at set-up (the portal loads the .mo).
LOCALES := portal/locales
PO := $(LOCALES)/zh_CN/LC_MESSAGES/messages.po
MO := $(LOCALES)/zh_CN/LC_MESSAGES/messages.mo
MESSAGE_DIRS := portal kernel title_transfer backoffice documents auction_listings cases storage accounts

.PHONY: help install assets migrate seed portal run test test-portal test-e2e lint bench clean messages bot-forms

include bot/bot.mk

help:
	@echo "make run    – set up the portal, load demo data, start it on 127.0.0.1:$(PORT); the assistant joins when trained"
	@echo "make test   – every test (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)"
	@echo "make portal – the portal alone;  make bench – benchmarks on PostgreSQL"

$(STAMP): pyproject.toml
	@echo "· setting up the Python environment in $(VENV) (the first run downloads packages: a few minutes) …"
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e ".[test]"
	@touch $(STAMP)

$(MO): $(PO) | $(STAMP)
	@$(BIN)/pybabel -q compile -d $(LOCALES) -D messages

install: $(STAMP) $(MO)

$(HTMX): package.json package-lock.json
	@echo "· installing front-end libraries from the npm registry …"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $(HTMX)

assets: $(HTMX)

migrate: install
	@$(BIN)/python -m portal migrate

seed: migrate
	@$(BIN)/python -m portal seed

portal: seed assets
	@$(BIN)/python -m portal serve

# The portal starts as soon as its own set-up is done; the assistant is prepared (bot-venv,
# train: minutes on a fresh clone) in the background and joins when trained (scripts/run-all.sh).
run: seed assets
	@bash scripts/run-all.sh

test-portal: install assets
	@$(BIN)/python -m pytest -q -m "not e2e"

# The end-to-end chat test needs the portal's environment, the bot's and a trained model.
test-e2e: install assets train
	@$(BIN)/python -m pytest -q -m e2e tests/e2e

test: lint test-portal bot-test test-e2e

# mypy over every package (the same list as pre-commit); the version is pinned in pyproject.toml.
TYPED_PACKAGES := kernel accounts storage documents title_transfer backoffice auction_listings cases portal

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/mypy $(TYPED_PACKAGES)

bench: install assets
	@$(BIN)/python -m bench

clean:
	rm -rf var/ .pytest_cache

# Babel's own workflow over babel.cfg: extract → update the .po (translations kept) → compile.
# The statistics line says how many messages still need Chinese; tests name them.
messages: install
	@$(BIN)/pybabel -q extract -F babel.cfg -o $(LOCALES)/messages.pot --no-location -w 120 \
		--project=yijianshi-portal $(MESSAGE_DIRS)
	@$(BIN)/pybabel -q update -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages -l zh_CN \
		--no-fuzzy-matching --ignore-obsolete -w 120
	@$(BIN)/pybabel compile -d $(LOCALES) -D messages --statistics

# The assistant's fallback copy of the form schemas, generated from the portal's (checked by a test).
bot-forms: install
	@$(BIN)/python scripts/bot_forms.py

# The production shape as local processes on 127.0.0.1 (docs/operations.md, scripts/cluster.sh):
# HAProxy from Debian's packages in front of two portals, PostgreSQL and Redis (the cluster's
# own server processes, on its own ports), moto's S3 server, the outbox sender, a fake SMTP
# recipient, two Rasa replicas (bot/endpoints.production.yml) and two action servers.
.PHONY: cluster-deps cluster drill
cluster-deps:
	@command -v haproxy >/dev/null 2>&1 || { echo "· installing Debian's haproxy …"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || { echo "· installing Debian's redis-server …"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "· installing Debian's postgresql …"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }

cluster: cluster-deps install assets train
	@bash scripts/cluster.sh

# The fault drill against the same cluster (bounded: about 3 minutes of load, 127.0.0.1 only).
# It restarts the cluster's own PostgreSQL and freezes its own Redis, not the machine's servers.
drill: cluster-deps install assets train
	@.venv/bin/python -m scripts.drill $(DRILL_ARGS)
