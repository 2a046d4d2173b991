# Salus — the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_PATIENTS ?= 200
HOST ?= 127.0.0.1
PORT ?= 8000
# The integration tier: PostgreSQL and Redis. Skipped, with a message, when they do not answer.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: demo test venv venv-dev lock lint unit integration browser bench clean

# requirements.txt: what production runs (and `make demo`); requirements-dev.txt: the same pins
# plus tests, lint and types. Both are compiled from the .in files (README, "Dependencies").
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev

## make lock: re-compile both pin files after editing a .in file. Pins already in the .txt files
## stay where they are unless the .in files ask otherwise; `make lock UPGRADE=name` moves one package.
PIP_COMPILE = $(VENV)/bin/pip-compile --quiet --strip-extras --generate-hashes --allow-unsafe --no-emit-index-url \
  --no-emit-find-links $(if $(UPGRADE),--upgrade-package $(UPGRADE))
lock: venv
	$(PY) -m pip install --quiet pip-tools
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in

## make demo: web + Celery worker + beat on SQLite and a file-system broker, with demo data.
## config/demo.py migrates, seeds, then runs the three and stops them all on Ctrl-C or SIGTERM.
demo: venv
	$(PY) -m config.demo --host $(HOST) --port $(PORT) --patients $(DEMO_PATIENTS)

# mypy checks the service layer of every app, a module or a package, wherever it is (new apps
# and packages are picked up as they appear).
MYPY_FILES = $(wildcard $(foreach layer,services selectors permissions,*/$(layer).py */$(layer)/*.py */$(layer)/*/*.py))

## make test: lint, checks, layering, the unit tier on SQLite, then the integration tier.
test: venv-dev lint unit integration

lint: venv-dev
	@mkdir -p var  # makemigrations --check reads the (empty) default database's history
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py check --fail-level WARNING
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py check_translations
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy $(MYPY_FILES)
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

unit: venv-dev
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -m "not integration" -q

integration: venv-dev
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -m integration -q -p tests.integration_gate

## make bench: the scale harness on PostgreSQL database salus_bench, and concurrent booking on
## its own database salus_bench_booking (see bench/README.md).
bench: venv
	$(PY) bench/seed_large.py --patients 1000000 --facts-per-patient 10
	$(PY) bench/api.py --requests 200
	$(PY) bench/query_variants.py
	$(PY) bench/booking.py --threads 20 --attempts 50 --slots 50

clean:
	rm -rf var .pytest_cache
