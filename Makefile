# datapakke — two commands on a fresh machine:  make demo  ·  make test
# `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DP     := $(VENV)/bin/datapakke
# Which municipality `make demo` builds: a name or code, or "alle" for every school of all 13.
KOMMUNE ?= Vesthimmerland
# Pages built at once; empty: one per core (or `workers` in datapakke.yaml).
WORKERS ?=
WORKERS_OPT := $(if $(WORKERS),--workers $(WORKERS))
STAMP  := $(VENV)/.installed
# axe-core (accessibility checks in the browser tests), from npm into the venv, never committed.
AXE_VERSION ?= 4.14.1
AXE    := $(VENV)/js/node_modules/axe-core/axe.min.js

.DEFAULT_GOAL := help
.PHONY: help demo test install site clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(AXE): | $(STAMP)
	npm install --prefix $(VENV)/js --no-save --no-audit --no-fund --loglevel=error axe-core@$(AXE_VERSION)

install: $(STAMP) $(AXE) ## create .venv and install datapakke with its test tools (and axe-core from npm)

demo: $(STAMP) ## generate demo data and build + publish the site (KOMMUNE=alle for all 13)
	$(DP) all --demo --kommune "$(KOMMUNE)" $(WORKERS_OPT)
	@echo
	@echo "Webstedet ligger i: $(CURDIR)/reports/_site/index.html"

site: $(STAMP) ## rebuild the site from existing data/raw (no new demo data)
	$(DP) all --kommune "$(KOMMUNE)" $(WORKERS_OPT)

test: $(STAMP) $(AXE) ## run every test: pytest (incl. the report notebooks under nbval and the site in Chromium), then nbval on the lib tour
	DATAPAKKE_AXE_JS=$(CURDIR)/$(AXE) $(VENV)/bin/pytest -p no:cacheprovider tests
	$(VENV)/bin/pytest -p no:cacheprovider --nbval tests/notebooks/lib_tour.ipynb --nbval-sanitize-with tests/notebooks/sanitize.cfg

clean: ## remove built output (reports/, data/processed/)
	rm -rf reports data/processed/current data/processed/v-* data/processed/.staging-*
