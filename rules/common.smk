# Helper functions of the workflow: config validation, per-dataset settings, seeds,
# package modules as inputs. Only this file defines helpers.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

BASEDIR = Path(workflow.basedir)
# The package `laser` is importable here and in every job (also without install).
sys.path.insert(0, str(BASEDIR))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(BASEDIR), os.environ.get("PYTHONPATH", "")) if p
)

from laser.config import ConfigError, section, validate
from laser.seeding import derive_seed

try:
    validate(config, BASEDIR / "schemas" / "config.schema.yaml")
except ConfigError as e:
    raise WorkflowError(str(e)) from None

DATASETS = list(config["datasets"])
METHODS = list(config["methods"])


wildcard_constraints:
    dataset="|".join(DATASETS),


def settings(name):
    """The config section `name` for the job's dataset, overrides applied."""
    return lambda wildcards: section(config, name, wildcards.dataset)


def seed(rule_name):
    """The job's own seed, derived from the global seed, rule and dataset."""
    return lambda wildcards: derive_seed(config["seed"], rule_name, wildcards.dataset)


def code(*modules):
    """Package modules a rule uses: inputs, so that editing one reruns the rule."""
    return [str(BASEDIR / "laser" / f"{m}.py") for m in modules]


def method_samples(wildcards):
    """The samples of every configured method for the job's dataset."""
    return {m: f"results/{wildcards.dataset}/{m}/samples.npz" for m in METHODS}


def dataset_range(wildcards):
    """The histogram range of the job's dataset."""
    return config["datasets"][wildcards.dataset]["range"]
