# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Run the embedded-defaults passes without any service URL, whatever the caller exported.
EMBEDDED := env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL -u RECOMMENDATIONS_REQUIRE_SERVICES

.PHONY: demo test venv lint test-lib test-embedded test-demo bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

## make demo: the demo shop on embedded defaults (SQLite, eager tasks, in-process live store)
demo: venv
	$(EMBEDDED) $(BIN)/python manage.py migrate --noinput
	$(EMBEDDED) $(BIN)/python manage.py seed_demo
	@echo "Demo shop: http://127.0.0.1:8000/  (admin: admin / admin, shoppers: shopper1..N / demo; API docs: /api/docs/)"
	$(EMBEDDED) $(BIN)/python manage.py runserver 127.0.0.1:8000

## make test: lint, the library suite (on PostgreSQL/Redis/Celery when their URLs are set),
## the same capture tests on the embedded defaults, and the demo shop's own tests
test: venv lint test-lib test-embedded test-demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test-lib: venv
	$(BIN)/pytest tests

# When the main pass ran on PostgreSQL/Redis, run the capture tests once more on SQLite and the
# in-process store: those are what a newcomer runs first.
test-embedded: venv
	@if [ -n "$$DATABASE_URL$$REDIS_URL" ]; then \
		$(EMBEDDED) RECOMMENDATIONS_EMBEDDED_PASS=1 $(BIN)/pytest tests --ignore=tests/integration --ignore=tests/engine --ignore=tests/offline -p no:cacheprovider; \
	else echo "test-embedded: the main pass already ran on the embedded defaults"; fi

# The demo's tests run on its embedded defaults, but keep RECOMMENDATIONS_REQUIRE_SERVICES: in CI a
# missing Chromium must fail the browser test, not skip it.
test-demo: venv
	env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL $(BIN)/pytest shop_demo/tests --ds=shop_demo.settings -p no:cacheprovider

bench: venv
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) db.sqlite3* tests/*.sqlite3* .pytest_cache .ruff_cache
