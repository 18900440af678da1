# The two commands of the README: `make reproduce` and `make test`.
# Both create the virtual environment .venv with the pinned dependencies first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra arguments for snakemake, e.g. `make reproduce ARGS="--configfile config/fast.yaml"`.
ARGS ?=

.PHONY: venv reproduce report test lint docs format dag bench clean

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

## test: linters, the documentation site, then the test suite (unit tests, doctests
## and end-to-end workflow runs)
test: lint docs
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint --cores 1

## docs: the documentation site (docs/, mkdocs.yml) in site/, warnings as errors
docs: venv
	$(BIN)/mkdocs build --strict --site-dir site

format: venv
	$(BIN)/ruff format .
	$(BIN)/snakefmt Snakefile rules

## bench: throughput of every stage against the straightforward way (about 20 min on
## 2 cores; not part of the tests) -> docs/benchmarks/summary.{tsv,md}, parts/*.{tsv,log}
BENCH := docs/benchmarks/parts
bench: venv
	mkdir -p $(BENCH)
	set -o pipefail; $(BIN)/python benchmarks/training_speed.py --out $(BENCH)/training.tsv 2>&1 | tee $(BENCH)/training.log
	set -o pipefail; $(BIN)/python benchmarks/hmc_speed.py --out $(BENCH)/hmc.tsv 2>&1 | tee $(BENCH)/hmc.log
	set -o pipefail; $(BIN)/python benchmarks/emd_speed.py --cache .bench-cache/emd_dense.json --out $(BENCH)/emd.tsv 2>&1 | tee $(BENCH)/emd.log
	$(BIN)/python benchmarks/summary.py

## dag: the rule graph of the workflow as docs/rulegraph.svg (needs graphviz's dot)
dag: venv
	$(BIN)/snakemake --rulegraph --cores 1 | dot -Tsvg > docs/rulegraph.svg

clean:
	rm -rf results logs benchmarks/*/ .snakemake site
