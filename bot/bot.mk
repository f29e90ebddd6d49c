# Make targets of the chat assistant (Rasa). Paths are relative to the
# repository root: the root Makefile includes this file (include bot/bot.mk);
# it also works alone: make -f bot/bot.mk bot-test
#
#   bot-venv      the bot's Python 3.10 virtualenv at bot/.venv (idempotent)
#   train         train bot/models/bot.tar.gz when data/config/domain changed
#   bot-test      data validation, held-out NLU evaluation, test conversations,
#                 action unit tests (against a fake portal)
#   bot-run       Rasa (127.0.0.1:5005, REST) + action server (127.0.0.1:5055)
#   bot-run-rasa / bot-run-actions   the same, one process each (for make -j run)

BOT_DIR ?= bot
BOT_VENV := $(BOT_DIR)/.venv
BOT_PYTHON_BASE ?= $(shell p="$$(pyenv root 2>/dev/null)/versions/3.10.13/bin/python"; \
	if [ -x "$$p" ]; then echo "$$p"; else command -v python3.10; fi)
BOT_NLU_THRESHOLD ?= 0.85
BOT_RASA_PORT ?= 5005
BOT_ACTIONS_PORT ?= 5055
# The portal the action server calls: the one `make run` starts, on $(PORT) like the portal
# itself, with the token the portal accepts (its development default unless PORTAL_SERVICE_TOKEN
# is set: portal/settings.py DEFAULT_SERVICE_TOKEN).
PORT ?= 8000
PORTAL_URL ?= http://127.0.0.1:$(PORT)
PORTAL_SERVICE_TOKEN ?= dev-service-token

# quiet, offline-friendly Rasa
BOT_ENV := RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 \
	SQLALCHEMY_SILENCE_UBER_WARNING=1 PYTHONWARNINGS=ignore

.PHONY: bot-venv train bot-test bot-validate bot-nlu-eval bot-test-core bot-test-actions \
	bot-run bot-run-rasa bot-run-actions

bot-venv:
	@if [ -x "$(BOT_VENV)/bin/rasa" ] && cmp -s $(BOT_DIR)/requirements.txt $(BOT_VENV)/.requirements.txt; then \
		echo "bot venv up to date ($(BOT_VENV))"; \
	else \
		if [ ! -x "$(BOT_VENV)/bin/python" ]; then \
			test -n "$(BOT_PYTHON_BASE)" || { echo "Python 3.10 not found (set BOT_PYTHON_BASE)"; exit 1; }; \
			echo "creating $(BOT_VENV) with $(BOT_PYTHON_BASE)"; \
			"$(BOT_PYTHON_BASE)" -m venv $(BOT_VENV); \
		fi; \
		echo "installing $(BOT_DIR)/requirements.txt into $(BOT_VENV) (Rasa: about 2 minutes, 2.7 GB)"; \
		$(BOT_VENV)/bin/python -m pip install --disable-pip-version-check "pip<24.1" > $(BOT_VENV)/pip.log 2>&1 \
			&& $(BOT_VENV)/bin/python -m pip install --disable-pip-version-check -r $(BOT_DIR)/requirements.txt >> $(BOT_VENV)/pip.log 2>&1 \
			|| { grep -v "is ignored: it is neither" $(BOT_VENV)/pip.log | tail -30; echo "pip install failed"; exit 1; }; \
		$(BOT_VENV)/bin/rasa --version >/dev/null 2>&1 || { echo "rasa did not install"; exit 1; }; \
		cp $(BOT_DIR)/requirements.txt $(BOT_VENV)/.requirements.txt; \
		echo "bot venv ready"; \
	fi

train: bot-venv
	@$(BOT_ENV) $(BOT_DIR)/scripts/train_if_changed.sh

bot-validate: bot-venv
	cd $(BOT_DIR) && $(BOT_ENV) .venv/bin/rasa data validate --domain domain --data data --config config.yml --quiet

bot-nlu-eval: train
	cd $(BOT_DIR) && $(BOT_ENV) .venv/bin/python scripts/nlu_eval.py \
		--holdout tests/nlu_holdout.yml --holdout tests/nlu_holdout_fresh.yml --model models/bot.tar.gz --threshold $(BOT_NLU_THRESHOLD)

bot-test-core: train
	cd $(BOT_DIR) && $(BOT_ENV) .venv/bin/rasa test core --model models/bot.tar.gz \
		--stories tests/test_stories.yml --fail-on-prediction-errors --out results/core --no-plot --quiet \
		&& echo "test conversations: all predicted correctly (results in $(BOT_DIR)/results/core)"

bot-test-actions: bot-venv
	cd $(BOT_DIR) && .venv/bin/python -m pytest -c pytest.ini -q

bot-test: bot-validate bot-nlu-eval bot-test-core bot-test-actions
	@echo "bot-test: all bot checks passed"

bot-run-actions: bot-venv
	cd $(BOT_DIR) && SANIC_HOST=127.0.0.1 PORTAL_URL=$(PORTAL_URL) PORTAL_SERVICE_TOKEN=$(PORTAL_SERVICE_TOKEN) \
		$(BOT_ENV) .venv/bin/rasa run actions --actions actions --port $(BOT_ACTIONS_PORT)

bot-run-rasa: train
	cd $(BOT_DIR) && BOT_ACTIONS_PORT=$(BOT_ACTIONS_PORT) $(BOT_ENV) .venv/bin/rasa run --model models/bot.tar.gz \
		--interface 127.0.0.1 --port $(BOT_RASA_PORT) \
		--credentials credentials.yml --endpoints endpoints.yml

bot-run: train
	@echo "starting the action server on 127.0.0.1:$(BOT_ACTIONS_PORT) and Rasa on 127.0.0.1:$(BOT_RASA_PORT)"
	@cd $(BOT_DIR) && ( \
		SANIC_HOST=127.0.0.1 PORTAL_URL=$(PORTAL_URL) PORTAL_SERVICE_TOKEN=$(PORTAL_SERVICE_TOKEN) \
			$(BOT_ENV) .venv/bin/rasa run actions --actions actions --port $(BOT_ACTIONS_PORT) & \
		actions_pid=$$!; trap 'kill $$actions_pid 2>/dev/null' EXIT INT TERM; \
		BOT_ACTIONS_PORT=$(BOT_ACTIONS_PORT) $(BOT_ENV) .venv/bin/rasa run --model models/bot.tar.gz --interface 127.0.0.1 --port $(BOT_RASA_PORT) \
			--credentials credentials.yml --endpoints endpoints.yml )
