# Helper functions of the workflow: config validation, per-dataset settings, seeds,
# code inputs and resources (both from laser.workflow). Only this file defines
# helpers.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.io import apply_wildcards
from snakemake.logging import logger

BASEDIR = Path(workflow.basedir)
# The package `laser` is importable here and, through PYTHONPATH, in every job, also
# in a conda env or on a cluster node where it is not installed. (This sets the
# variable for the jobs; the workflow requires none from the user.)
sys.path.insert(0, str(BASEDIR))
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [str(BASEDIR), os.getenv("PYTHONPATH")]))
)

from laser.seeding import derive_seed
from laser.workflow import cleanup, estimate, resources
from laser.workflow.code import script_inputs
from laser.workflow.config import (
    ConfigError,
    baseline_kind,
    methods,
    section,
    validate,
)

try:
    validate(config, BASEDIR / "schemas" / "config.schema.yaml")
except ConfigError as e:
    raise WorkflowError(str(e)) from None

DATASETS = list(config["datasets"])
# the configured methods, with the rounds of refinement laser_2 ... laser_k
# (refine.iterations) after laser
METHODS = methods(config)
# torch threads of each training and sampling job; with --cores N, N / THREADS such
# jobs run at once
THREADS = config["threads"]
# GPUs of each torch job (0: none; the SLURM executor turns it into --gpus) and the
# device its networks run on: resources, so that moving a job to a GPU reruns nothing
GPUS = config["gpus"]
DEVICE = config["device"]
# How often the long jobs (training, HMC, Langevin, rejection, OmniFold) save their
# progress under progress/, to continue from it when rerun after an interruption
# (laser.progress): resources, so that changing them reruns nothing
PROGRESS = {
    "progress_steps": config["progress"]["steps"],
    "progress_seconds": round(60 * config["progress"]["minutes"]),
}


def settings(name):
    """The config section `name` for the job's dataset, overrides applied."""
    return lambda wildcards: section(config, name, wildcards.dataset)


def seed(rule_name):
    """The job's own seed, derived from the global seed, its name and the dataset."""
    return lambda wildcards: derive_seed(config["seed"], rule_name, wildcards.dataset)


def iterated_seed(rule_name):
    """The seed of a job of round `iteration` of refinement: derived from the global
    seed, the rule's name, the dataset and the round."""
    return lambda wildcards: derive_seed(
        config["seed"], rule_name, wildcards.dataset, wildcards.iteration
    )


def generator_kind(iteration):
    """Kind (flow or gan) of the generator that round `iteration` refines (a
    number, or None for the job's wildcard): the baseline's for round 1; for later
    rounds the refined generator, a flow only if the baseline and refiner are."""

    def kind(wildcards):
        d = wildcards.dataset
        base = baseline_kind(config, d)[1]
        k = int(wildcards.iteration) if iteration is None else iteration
        if k == 1:
            return base
        flow = base == "flow" and section(config, "refiner", d)["kind"] == "flow"
        return "flow" if flow else "gan"

    return kind


def refiner_paths(offset):
    """The refiners phi_1 ... phi_j of a job of round k (wildcard iteration), in
    the order they were trained, with j = k + offset: offset 0 for the refined
    generator of round k, -1 for the one round k refines."""

    def paths(wildcards):
        d, j = wildcards.dataset, int(wildcards.iteration) + offset
        names = ["laser", *(f"laser_{i}" for i in range(2, j + 1))]
        return [f"results/{d}/{name}/refiner.pt" for name in names]

    return paths


def previous_samples(wildcards):
    """The samples of the refined generator of the round before the job's."""
    k = int(wildcards.iteration)
    name = "laser" if k == 2 else f"laser_{k - 1}"
    return f"results/{wildcards.dataset}/{name}/samples.npz"


def blackbox_weights(wildcards):
    """The black box's samples weighted by the job's pull-back (direct: w(x) of the
    data-space classifier; omnifold: nu(z))."""
    name = {"direct": "blackbox_dctr", "omnifold": "blackbox_omnifold"}
    return f"results/{wildcards.dataset}/{name[wildcards.pullback]}/samples.npz"


# The rules that load or train refiners phi, and those that load the black box.
REFINER_RULES = {
    "train_refiner",
    "sample_laser",
    "train_classifier_iterated",
    "train_refiner_iterated",
    "sample_laser_iterated",
    "train_refiner_blackbox",
    "sample_blackbox_laser",
}


def code(rule_name):
    """The package modules that the rule's script imports, directly or not, as
    inputs: editing one reruns exactly the jobs that use it. The GAN's module
    counts only for a job that loads a GAN (its dataset's baseline, or its
    refiners); a job that loads the black box also depends on the box's code
    (blackbox.spec)."""

    def inputs(wildcards):
        d = wildcards.get("dataset")
        script = BASEDIR / "scripts" / Path(workflow.get_rule(rule_name).script).name
        gan = d is not None and (
            baseline_kind(config, d)[1] == "gan"
            or (
                rule_name in REFINER_RULES
                and section(config, "refiner", d)["kind"] == "gan"
            )
        )
        drop = () if gan else ("laser.models.gan",)
        return script_inputs(script, BASEDIR, drop, config["blackbox"]["spec"])

    return inputs


def mem_mb(rule_name):
    """Memory (MB) of the rule's jobs (laser.workflow.resources), x attempt."""
    return lambda wildcards, attempt: resources.mem_mb(config, rule_name, attempt)


def runtime(rule_name):
    """Wall time (minutes) of the rule's jobs (laser.workflow.resources), x attempt."""
    return lambda wildcards, attempt: resources.runtime(
        config, rule_name, wildcards.get("dataset"), attempt
    )


def method_samples(wildcards):
    """The samples of every configured method for the job's dataset."""
    return {m: f"results/{wildcards.dataset}/{m}/samples.npz" for m in METHODS}


def dataset_range(wildcards):
    """The histogram range of the job's dataset."""
    return config["toys"][wildcards.dataset]["range"]


def clear_progress():
    """When a run ends: remove the saved progress of the jobs that completed
    (laser.workflow.cleanup; their outputs are newer than their saves)."""

    def outputs(rule_name, wildcards):
        try:
            files = workflow.get_rule(rule_name).output
        except Exception:  # a rule this workflow no longer has
            return None
        return [apply_wildcards(str(f), wildcards) for f in files]

    for directory in cleanup.clear_completed(outputs):
        logger.info(f"Saved progress of a completed job removed: {directory}")


def log_estimate():
    """Before any job starts: the estimated wall time of the jobs about to run
    (laser.workflow.estimate, from the resource model that sizes the cluster
    jobs), on the given cores, or on a cluster with --jobs at once."""
    dag = workflow.dag
    jobs = list(dag.needrun_jobs())
    keys = {job: str(i) for i, job in enumerate(jobs)}
    local = workflow.local_exec
    settings = workflow.resource_settings
    # on a cluster, --jobs (which may be "unlimited"): at most every job at once
    slots = (
        settings.cores if local else min(settings.nodes or len(jobs), len(jobs))
    ) or 1
    tasks = estimate.of_jobs(
        config,
        [
            (
                keys[job],
                job.rule.name,
                job.wildcards_dict.get("dataset"),
                job.threads if local else 1,
                [keys[d] for d in dag.dependencies[job] if d in keys],
            )
            for job in jobs
        ],
    )
    where = (
        f"on {slots} cores"
        if local
        else f"{slots} at a time on the cluster, its queue left out"
    )
    logger.info(
        f"Estimated wall time: {estimate.describe(estimate.wall_seconds(tasks, slots))}"
        f" for {len(jobs)} jobs {where} (laser.workflow.estimate)"
    )
