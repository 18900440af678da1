# Helper functions of the workflow: config validation, per-dataset settings, seeds,
# package modules as inputs. Only this file defines helpers.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

BASEDIR = Path(workflow.basedir)
# The package `laser` is importable here and, through PYTHONPATH, in every job, also
# in a conda env or on a cluster node where it is not installed. (This sets the
# variable for the jobs; the workflow requires none from the user.)
sys.path.insert(0, str(BASEDIR))
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [str(BASEDIR), os.getenv("PYTHONPATH")]))
)

from laser.config import ConfigError, section, validate
from laser.seeding import derive_seed

try:
    validate(config, BASEDIR / "schemas" / "config.schema.yaml")
except ConfigError as e:
    raise WorkflowError(str(e)) from None

DATASETS = list(config["datasets"])
METHODS = list(config["methods"])


def settings(name):
    """The config section `name` for the job's dataset, overrides applied."""
    return lambda wildcards: section(config, name, wildcards.dataset)


def seed(rule_name):
    """The job's own seed, derived from the global seed, its name and the dataset."""
    return lambda wildcards: derive_seed(config["seed"], rule_name, wildcards.dataset)


def code(*modules):
    """Package modules used by a job, as inputs: editing one reruns its jobs."""
    return [str(BASEDIR / "laser" / f"{m}.py") for m in modules]


def method_samples(wildcards):
    """The samples of every configured method for the job's dataset."""
    return {m: f"results/{wildcards.dataset}/{m}/samples.npz" for m in METHODS}


def dataset_range(wildcards):
    """The histogram range of the job's dataset."""
    return config["toys"][wildcards.dataset]["range"]
