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

from laser.config import ConfigError, baseline_kind, methods, section, validate
from laser.seeding import derive_seed

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


def code(*modules):
    """Package modules used by a job, as inputs: editing one reruns its jobs."""
    return [str(BASEDIR / "laser" / f"{m}.py") for m in modules]


def generator_code(*modules):
    """As `code`, plus the modules of the job's baseline generator: flows for a
    flow, gan (and flows) for a GAN; editing the GAN does not rerun the jobs of a
    flow baseline."""

    def inputs(wildcards):
        kind = baseline_kind(config, wildcards.dataset)[1]
        own = ["flows"] if kind == "flow" else ["gan", "flows"]
        return code("generators", *own, *modules)

    return inputs


def method_samples(wildcards):
    """The samples of every configured method for the job's dataset."""
    return {m: f"results/{wildcards.dataset}/{m}/samples.npz" for m in METHODS}


def dataset_range(wildcards):
    """The histogram range of the job's dataset."""
    return config["toys"][wildcards.dataset]["range"]


# Cluster resources. Every rule declares threads, mem_mb and runtime (minutes); the
# rules that compute with torch on `device` also declare gpu, the config's `gpus`
# (0: none), which the SLURM executor turns into --gpus. Sized from measurements
# at the paper's settings on a 2-core CPU in float64 with 2 threads: wall time per
# unit of work from benchmarks/paper_timing.py (docs/timings/paper_cpu_float64.tsv),
# peak memory (max_rss) from a run of config/memory.yaml. A job asks for twice the
# measured figure (a GPU is faster), and twice that again on its second attempt
# (--retries).
GPUS = config["gpus"]
GPU_RULES = {
    "train_baseline",
    "sample_baseline",
    "train_classifier",
    "compute_weights",
    "train_refiner",
    "sample_laser",
    "run_hmc",
    "run_oracle",
    "run_rejection",
    "run_langevin",
    "weight_diagnostics",
    "train_classifier_iterated",
    "compute_weights_iterated",
    "train_refiner_iterated",
    "sample_laser_iterated",
    "sample_blackbox",
    "train_classifier_blackbox",
    "compute_weights_blackbox",
    "run_omnifold",
    "train_refiner_blackbox",
    "sample_blackbox_laser",
}
# Peak resident memory (MB) at the paper's sample sizes, the larger of gaussians
# and rings (run_hmc: 20000 chains, an upper bound of the paper's 100).
MEASURED_RSS_MB = {
    "generate_data": 359,
    "train_baseline": 630,
    "sample_baseline": 471,
    "train_classifier": 508,
    "compute_weights": 538,
    "train_refiner": 567,
    "sample_laser": 569,
    "run_hmc": 1572,
    # measured outside the workflow, the same work (rings' flow, float64): the
    # oracle as run_hmc above; the diagnostics on 2M DCTR and 2 x 480k held-out points
    "run_oracle": 1384,
    "weight_diagnostics": 622,
    # estimates: measured outside the workflow with untrained networks of the
    # paper's sizes (float64, 1 thread, 2M samples, the default settings), the
    # larger of the paper's and the rings' flow; trained weights change the time
    # (acceptance, mixing), not the memory
    "run_rejection": 531,
    "run_langevin": 984,
    "evaluate": 1088,
    "plot_figure": 597,
    "table": 300,  # not measured (no benchmark directive); pandas on a few rows
}
# Rounds k >= 2 of refinement do the work of round 1's rules, through one more
# network per round (the refiners before them): sized as those rules.
ITERATED = {
    "train_classifier_iterated": "train_classifier",
    "compute_weights_iterated": "compute_weights",
    "train_refiner_iterated": "train_refiner",
    "sample_laser_iterated": "sample_laser",
}
# The black box's rules (rules/blackbox.smk) do the work of these rules with the
# box in place of g (not measured; the shipped box is the baseline followed by
# smearing); run_omnifold trains 2 classifiers per iteration, one on latent points.
BLACKBOX_AS = {
    "sample_blackbox": "sample_baseline",
    "train_classifier_blackbox": "train_classifier",
    "compute_weights_blackbox": "compute_weights",
    "run_omnifold": "train_classifier",
    "train_refiner_blackbox": "train_refiner",
    "sample_blackbox_laser": "sample_laser",
}
MEASURED_RSS_MB.update(
    {k: MEASURED_RSS_MB[v] for k, v in {**ITERATED, **BLACKBOX_AS}.items()}
)
# The acceptance rate E_p[w] / M assumed for run_rejection's runtime: about 1 / M
# for a density ratio. Measured with the fast config's trained networks (commit
# 9563759): 0.070 (gaussians, M = 14.3), 0.65 (double donut), 0.44 (rings); 0.02
# leaves room for the peakier weights of longer-trained classifiers.
REJECTION_ACCEPTANCE = 0.02
# Host memory that the CUDA runtime and context add to a process using a GPU (not
# measured: no GPU at hand; benchmarks/gpu_check.sh prints the peak on one).
CUDA_HOST_MB = 3000
# Start-up, loading and writing, on top of the computation, in minutes.
STARTUP_MIN = 10


def mem_mb(rule_name):
    """Memory (MB) of the rule's jobs: twice the measured peak, rounded up to
    500 MB, plus the CUDA runtime's share where the job asks for a GPU; x attempt."""
    mb = -(-2 * MEASURED_RSS_MB[rule_name] // 500) * 500
    if rule_name in GPU_RULES and GPUS > 0:
        mb += CUDA_HOST_MB
    return lambda wildcards, attempt: int(mb * attempt)


def compute_seconds(rule_name, dataset=None):
    """CPU seconds of the rule's computation for `dataset` under this config: the
    measured figure at the paper's settings (float64, 2 threads), scaled by the
    work (epochs, points, iterations, network sizes)."""
    data = config["data"]
    n_eval = data["n_eval"] / 2_000_000
    if dataset is not None:
        # the flow's cost per point relative to the paper's 12 blocks x 3 x 48
        # units (the rings' 20 x 3 x 60 measured 1.97 x per training step)
        s = section(config, "baseline", dataset)
        flow = s["n_blocks"] * s["hidden_layers"] * s["hidden_units"] / 1728
    if rule_name in ITERATED:  # round 1's figure, and 40 s per 2M points for
        # each refiner a sample passes through (sample_laser's share of its time)
        k = config["refine"]["iterations"]
        n_points = {"train_classifier": data["n_classifier"]}.get(
            ITERATED[rule_name], data["n_eval"]
        )
        extra = 40 * (k - 1) * n_points / 2_000_000
        return compute_seconds(ITERATED[rule_name], dataset) + extra
    if rule_name == "run_omnifold":  # 2 classifiers per iteration, each on the
        # classifier's points and as many generated ones, weighted
        iterations = config["omnifold"]["iterations"]
        return 2 * iterations * compute_seconds("train_classifier", dataset)
    if rule_name in BLACKBOX_AS:
        return compute_seconds(BLACKBOX_AS[rule_name], dataset)
    if rule_name == "train_baseline":  # 0.23 h; rings 0.44 h
        s = section(config, "baseline", dataset)
        if s["kind"] == "gan":  # a GAN as the refiner's, on the training data
            return gan_seconds(s["gan"], data["n_train"])
        return 814 * flow * s["epochs"] / 100 * data["n_train"] / 480_000
    if rule_name == "sample_baseline":  # 2M points through g: 21 s; rings 39 s
        return 21 * flow * n_eval
    if rule_name == "sample_laser":  # and through the refiner first: 59 s; 110 s
        return (21 * flow + 40) * n_eval
    if rule_name == "train_classifier":  # 0.09 h, after g(z) for its points
        s = section(config, "classifier", dataset)
        size = s["hidden_layers"] * s["hidden_units"] / (8 * 96)
        n = data["n_classifier"]
        return 342 * size * s["epochs"] / 50 * n / 480_000 + 21 * flow * n / 2_000_000
    if rule_name == "compute_weights":  # the classifier on 2M points: 13 s
        return 13 * n_eval
    if rule_name == "train_refiner":  # 1.65 h: 124 ms per 4 D + 1 G updates
        s = section(config, "refiner", dataset)
        if s["kind"] == "flow":  # a RealNVP on the latent points: the baseline's cost
            f = s["flow"]
            size = f["n_blocks"] * f["hidden_layers"] * f["hidden_units"] / 1728
            return 814 * size * f["epochs"] / 100 * s["n_train"] / 480_000
        return gan_seconds(s, s["n_train"])
    if rule_name == "run_hmc":  # 1.8 h; rings 3.0 h; then 2M points through g
        # a leapfrog step costs 3.7 ms + 17.6 us per chain with the paper's flow
        # (100 chains: 5.5 ms; 20000 chains: at most 0.36 s), x 1.71 with the
        # rings' flow (measured with 100 chains)
        s = section(config, "hmc", dataset)
        iterations = s["burn_in"] + -(-data["n_eval"] // s["n_chains"])
        per_step = (3.7e-3 + 1.76e-5 * s["n_chains"]) * (1728 * flow + 898) / 2626
        return iterations * s["n_leapfrog"] * per_step + 21 * flow * n_eval
    if rule_name == "run_oracle":  # as run_hmc: a leapfrog step costs 0.87 x
        # (paper's flow) to 1.04 x (rings') of HMC's with 100 chains, one pass of g
        # and the toy's density instead of g and the classifier; run_hmc's figure
        return compute_seconds("run_hmc", dataset)
    if rule_name == "run_rejection":  # ESTIMATE: g and the classifier on every
        # proposal (21 s + 13 s per 2M points, as sample_baseline and
        # compute_weights; measured with 1 thread outside the workflow: 47 s, rings'
        # flow 88 s), the pilot and n_eval / acceptance more, then g of the
        # sample; the acceptance rate E_p[w] / M is not known before the run:
        # REJECTION_ACCEPTANCE is assumed
        s = section(config, "rejection", dataset)
        proposals = s["pilot"] + data["n_eval"] / REJECTION_ACCEPTANCE
        return (21 * flow + 13) * proposals / 2_000_000 + 21 * flow * n_eval
    if rule_name == "run_langevin":  # ESTIMATE: a Langevin step costs one
        # gradient, as a leapfrog step of run_hmc (same per-step figure; measured
        # with 1 thread and 10000 chains outside the workflow: 0.22 s, rings' 0.42 s)
        s = section(config, "langevin", dataset)
        steps = s["n_steps"] + s["thin"] * -(-data["n_eval"] // s["n_chains"])
        per_step = (3.7e-3 + 1.76e-5 * s["n_chains"]) * (1728 * flow + 898) / 2626
        return steps * per_step + 21 * flow * n_eval
    if rule_name == "weight_diagnostics":  # rings: ~1 min, estimated from parts
        # log p_g of the DCTR points (a pass of g), g(z) and the classifier on
        # the held-out points, the figure
        n_cal = data["n_classifier"] / 2_000_000
        return 21 * flow * (n_eval + n_cal) + 13 * 2 * n_cal + 10
    if rule_name == "evaluate":  # 80-111 s for 5 samples of 2M points
        return 22 * (len(METHODS) + 1) * n_eval
    return 60  # generate_data (4 s), plot_figure and table: under a minute


def gan_seconds(s, n):
    """CPU seconds of GAN training with settings `s` on n points: 124 ms per 4 D +
    1 G updates of the paper's refiner (1.65 h for 200 epochs of 480k points)."""
    size = s["hidden_layers"] * s["hidden_units"] / (7 * 100)
    updates = (s["d_updates"] + 1) / 5
    return 5952 * size * updates * s["epochs"] / 200 * n / 480_000


def runtime(rule_name):
    """Wall time (minutes) of the rule's jobs: start-up plus twice the measured
    computation, rounded up; x attempt."""

    def minutes(wildcards, attempt):
        seconds = compute_seconds(rule_name, wildcards.get("dataset"))
        return attempt * (STARTUP_MIN + int(-(-2 * seconds // 60)))

    return minutes
