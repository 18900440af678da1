# The two commands of the README: `make reproduce` and `make test`.
# Both create the virtual environment .venv with the pinned dependencies first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra arguments for snakemake, e.g. `make reproduce ARGS="--configfile config/fast.yaml"`.
ARGS ?=

.PHONY: venv reproduce report test lint format dag clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## reproduce: run the whole study (config.yaml, all cores), then write the HTML report
reproduce: venv
	$(BIN)/snakemake --profile profiles/default --cores all $(ARGS)
	$(BIN)/snakemake --profile profiles/default --cores all $(ARGS) --report results/report.html

## test: linters, then the test suite (unit tests and end-to-end workflow runs)
test: lint
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint --cores 1

format: venv
	$(BIN)/ruff format .
	$(BIN)/snakefmt Snakefile rules

## dag: the rule graph of the workflow as docs/rulegraph.svg (needs graphviz's dot)
dag: venv
	$(BIN)/snakemake --rulegraph --cores 1 | dot -Tsvg > docs/rulegraph.svg

clean:
	rm -rf results logs benchmarks/*/ .snakemake
