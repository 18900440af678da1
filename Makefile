# The two commands of the README: `make reproduce` and `make test`; `make quick` (the
# tiny config, a first look) and `make paper` (the paper's exact settings) beside them.
# All create the virtual environment .venv with the pinned dependencies first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra arguments for snakemake, e.g. `make reproduce ARGS="--config datasets=[rings]"`
# or a target, `ARGS=results/rings/figure.png`; they go before the config files, so that
# a target is never read as one.
ARGS ?=
# Config files of your own, merged over the study's, e.g. `make reproduce CONFIG=my.yaml`
# (a `--configfile` in ARGS would replace the study's file instead).
CONFIG ?=
SNAKEMAKE := $(BIN)/snakemake --profile profiles/default --cores all
# The report opens on the scores and figures (report/workflow.rst, report/metadata.yaml).
REPORT := --report-metadata $(CURDIR)/report/metadata.yaml
# Where a study's outputs are, printed at its end: $(call where,DIR)
where = echo; echo "Report:  $(1)/report.html"; \
	echo "Table:   $(1)/table3.md ($(1)/table3.tsv)"; \
	echo "Figures: $$(ls $(1)/*/figure.png | tr '\n' ' ')"

.PHONY: venv reproduce paper quick test lint docs format dag bench clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## reproduce: the study on all cores: the three toys at the paper's sample sizes with
## the fast settings (config/fast.yaml; 46-49 min a seed measured on 2 cores), the HTML report
FAST := --configfile config/fast.yaml $(CONFIG)
reproduce: venv
	$(SNAKEMAKE) $(ARGS) $(FAST)
	$(SNAKEMAKE) $(ARGS) --report results/report.html $(REPORT) $(FAST)
	@$(call where,results)

## paper: the same study at the paper's exact settings and with the oracle
## (config.yaml; about 19 h on 2 cores), the HTML report. It writes results/ too:
## over a fast study's outputs, it reruns every job.
PAPER := $(if $(CONFIG),--configfile $(CONFIG))
paper: venv
	$(SNAKEMAKE) $(ARGS) $(PAPER)
	$(SNAKEMAKE) $(ARGS) --report results/report.html $(REPORT) $(PAPER)
	@$(call where,results)

## quick: a first look at every output: the tiny config end to end (a few minutes on
## 2 cores) in quick/, and its report
QUICK := --directory quick --configfile $(CURDIR)/tests/configs/tiny.yaml $(CONFIG)
quick: venv
	$(SNAKEMAKE) $(ARGS) $(QUICK)
	$(SNAKEMAKE) $(ARGS) --report $(CURDIR)/quick/results/report.html $(REPORT) $(QUICK)
	@$(call where,quick/results)

## test: linters, the documentation site, then the test suite (unit tests, doctests
## and end-to-end workflow runs) on two pytest-xdist workers, a test file to each at
## a time: the end-to-end runs wait on SLURM and on single-threaded start-ups, which
## the other worker fills (tests/conftest.py hands out the longest files first)
PYTEST_WORKERS ?= 2
test: lint docs
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

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
	set -o pipefail; $(BIN)/python benchmarks/progress_cost.py --out $(BENCH)/progress.tsv 2>&1 | tee $(BENCH)/progress.log
	set -o pipefail; $(BIN)/python benchmarks/cost_vs_dim.py --out $(BENCH)/dimension.tsv 2>&1 | tee $(BENCH)/dimension.log
	$(BIN)/python benchmarks/summary.py

## dag: the rule graph of the workflow as docs/rulegraph.svg (needs graphviz's dot)
dag: venv
	$(BIN)/snakemake --rulegraph --cores 1 | dot -Tsvg > docs/rulegraph.svg

clean:
	rm -rf results logs progress benchmarks/*/ .snakemake site quick
