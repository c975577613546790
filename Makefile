# allora-ref: two commands on a fresh clone, `make reports` and `make test`.
# Every target that needs Python bootstraps the local virtual environment .venv first
# (from pyproject.toml, pinned by constraints.txt) and registers the Jupyter kernel
# `allora-ref` inside it.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

# Interpreter used to create .venv: python3.11 if it runs, else python3 (must be 3.11).
PYTHON ?= $(shell python3.11 -c pass >/dev/null 2>&1 && echo python3.11 || echo python3)
PY_OK := import sys; sys.exit(sys.version_info[:2] != (3, 11))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL := allora-ref
KERNEL_DISPLAY := allora-ref (Python 3.11)
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

NOTEBOOKS := $(sort $(wildcard notebooks/*.py))
NOTEBOOKS_IPYNB := $(NOTEBOOKS:.py=.ipynb)

# Extra arguments, e.g. `make test PYTEST_ARGS="-k loss"` or `make lab LAB_ARGS=--no-browser`.
PYTEST_ARGS ?=
LAB_ARGS ?=
BENCH_ARGS ?=

# `make reports SEED=7 EPOCHS=20` -> `-p seed 7 -p epochs 20`: every variable given on the
# make command line, except this Makefile's own, becomes a papermill parameter (lower-cased).
# PROFILE=NAME picks the parameter profile, PARAMS="field=value ..." replaces Params fields of
# it, ONLY="05_1 ..." runs only those notebooks (name or prefix).
PROFILE ?=
PARAMS ?=
ONLY ?=
OWN_VARS := PYTHON VENV PYTEST_ARGS LAB_ARGS REPORT_ARGS BENCH_ARGS PROFILE PARAMS ONLY
lower = $(shell printf '%s' '$(1)' | tr '[:upper:]' '[:lower:]')
quote = '$(subst ','\'',$(1))'
REPORT_VARS := $(filter-out $(OWN_VARS),$(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v))))
REPORT_ARGS ?= $(foreach v,$(REPORT_VARS),-p $(call lower,$(v)) $(call quote,$($(v)))) \
  $(if $(PROFILE),--profile $(call quote,$(PROFILE))) \
  $(foreach a,$(PARAMS),--set $(call quote,$(a))) $(foreach n,$(ONLY),--only $(call quote,$(n)))

# JupyterLab: open .py (py:percent) files as notebooks by default (jupytext's document widget).
define LAB_OVERRIDES
{
  "@jupyterlab/docmanager-extension:plugin": {
    "defaultViewers": {
      "python": "Jupytext Notebook"
    }
  }
}
endef
export LAB_OVERRIDES

.PHONY: help venv test test-explore reports lab export vectors bench clean distclean

help: ## List the commands
	@echo "allora-ref - executable reference specification of the Allora whitepaper"
	@echo
	@echo "  make reports   execute the report notebooks into reports/ and build the offline"
	@echo "                 spec site reports/site/index.html; options: make reports SEED=7"
	@echo "                 PROFILE=allora-simulator PARAMS=\"p=2 c=0.5\" ONLY=05_1"
	@echo "  make test      export drift check, unit/property/golden tests, notebook tests"
	@echo "  make test-explore  the property tests from fresh random seeds, with 10x the"
	@echo "                 examples (ALLORA_EXPLORE=N for N x)"
	@echo "  make lab       JupyterLab on the notebooks (py:percent files open as notebooks)"
	@echo "  make export    regenerate allora_ref/spec/*.py from the notebooks' export cells"
	@echo "  make vectors   regenerate the test vectors in allora_ref/vectors_data"
	@echo "  make bench     benchmark the epoch step by part, its memory, and the one-out kernel"
	@echo "                 against a compiled loop (BENCH_ARGS=--big: also (2048, 512, 128)),"
	@echo "                 then the claims ledger and the whole of make reports"
	@echo "  make venv      only create/update the virtual environment .venv"
	@echo "  make clean     remove generated files (keeps .venv)"
	@echo "  make distclean clean, and remove .venv"

venv: $(STAMP)

# Re-run whenever a pin changes. The venv itself is kept; pip brings it to the pins.
$(STAMP): pyproject.toml constraints.txt
	@if [ -x $(BIN)/python ]; then \
	  $(BIN)/python -c '$(PY_OK)' \
	    || { echo "error: $(VENV) is not Python 3.11; run 'make distclean' and retry" >&2; exit 1; }; \
	else \
	  $(PYTHON) -c '$(PY_OK)' 2>/dev/null \
	    || { echo "error: Python 3.11 is required; '$(PYTHON)' is not it (use make PYTHON=/path/to/python3.11)" >&2; exit 1; }; \
	  echo "Creating $(VENV) with $(PYTHON) (first run takes a few minutes)"; \
	  $(PYTHON) -m venv $(VENV); \
	fi
	@echo "Installing the pinned dependencies into $(VENV) (pip is quiet; a few minutes the first time)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "$(KERNEL_DISPLAY)"
	@mkdir -p $(dir $(LAB_SETTINGS))
	@printf '%s\n' "$$LAB_OVERRIDES" > $(LAB_SETTINGS)
	@touch $@

# The notebooks run under nbval from a copy in build/nbtest/notebooks, so that what they write
# (figures, the claims ledger: "../reports") lands in build/nbtest/reports, never in reports/.
NBTEST := build/nbtest/notebooks

test: $(STAMP)
	$(BIN)/python -m allora_ref.export --check
ifneq ($(NOTEBOOKS),)
	$(BIN)/jupytext --quiet --to ipynb --set-kernel $(KERNEL) $(NOTEBOOKS)
	rm -rf $(dir $(NBTEST)) && mkdir -p $(NBTEST) && cp $(NOTEBOOKS_IPYNB) $(NBTEST)/
endif
	ALLORA_REF_NOTEBOOK_SIZE=small $(BIN)/python -m pytest -n 2 --dist loadfile tests $(addprefix $(NBTEST)/,$(notdir $(NOTEBOOKS_IPYNB))) --nbval-lax $(PYTEST_ARGS)

# The property tests (hypothesis) with fresh seeds and ALLORA_EXPLORE times the examples of
# `make test`, whose runs are deterministic. A failure prints the example and how to replay it.
test-explore: $(STAMP)
	ALLORA_EXPLORE=$${ALLORA_EXPLORE:-10} $(BIN)/python -m pytest -n 2 -m hypothesis tests \
	  -p no:cacheprovider $(PYTEST_ARGS)

reports: $(STAMP)
	$(BIN)/python -m allora_ref.reports $(REPORT_ARGS)

# Jupyter refuses to run as root without --allow-root (containers, CI machines).
lab: $(STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

export: $(STAMP)
	$(BIN)/python -m allora_ref.export

vectors: $(STAMP)
	$(BIN)/allora-ref vectors generate allora_ref/vectors_data

bench: $(STAMP)
	$(BIN)/python tests/bench_synthesis.py $(BENCH_ARGS)
	$(BIN)/python tests/bench_claims.py
	$(BIN)/python tests/bench_claims.py --all

clean:
	rm -f notebooks/*.ipynb
	find reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .pytest_cache .hypothesis build *.egg-info
	find . \( -path ./.venv -o -path ./.git \) -prune -o \
	  \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
