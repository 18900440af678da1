"""The resources of every rule (threads, memory, wall time): a cost model from
measurements at the paper's settings, scaled by each job's work.

Every rule declares threads, mem_mb and runtime (minutes); the
rules that compute with torch on `device` also declare gpu, the config's `gpus`
(0: none), which the SLURM executor turns into --gpus. Sized from measurements
at the paper's settings on a 2-core CPU in float64 with 2 threads: wall time per
unit of work from benchmarks/paper_timing.py (docs/timings/paper_cpu_float64.tsv),
peak memory (max_rss) from a run of config/memory.yaml. A job asks for twice the
measured figure (a GPU is faster), and twice that again on its second attempt
(--retries).
"""

from __future__ import annotations

from typing import Any

from laser.workflow.config import entry, methods, section

__all__ = [
    "GPU_RULES",
    "MEASURED_RSS_MB",
    "ONE_THREAD",
    "mem_mb",
    "compute_seconds",
    "runtime",
]
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
    "summary": 300,  # not measured: the table and the PNG figures into one page
    "table_seeds": 300,  # not measured: pandas on the rows of every seed
    # datasets of events (not measured at scale yet: estimates from the arrays they
    # hold; docs/own-data.md): Pythia's event records in batches, the samples of
    # every method with the two-sample classifier's, the figures' histograms
    "generate_events": 1000,
    "evaluate_events": 1500,
    "table_events": 300,
    "plot_marginals": 800,
    "plot_corner": 600,
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
# ... and with the bound at a quantile q < 1 of the pilot weights
# (rejection.quantile), the figure of the smallest quantile listed at or above q
# (none listed: REJECTION_ACCEPTANCE): with 0.99999, 0.11-0.42 measured on five
# datasets of a fast run over seeds (commit 2e5463d), where the largest weight had
# cut one to 0.006; with 0.999, 0.42-0.73 for rejection and 0.38-0.79 for LaSeR's
# unweighting on the nine runs of the record from scratch
# (docs/results/fast_scratch.md).
REJECTION_ACCEPTANCE_QUANTILE = {0.99999: 0.1, 0.999: 0.35}
# Jobs of one thread (config `threads: 1`, as config/fast.yaml runs them, two at a
# time on the 2 cores) against the 2-thread figures below: measured over the nine
# runs of the fast record over seeds (docs/results/hmc_jumps.md, cpu seconds
# against this model): the flows' and the classifier's training 1.6-2.6x (median
# 2.05), HMC with 3 leapfrog steps and a jump per iteration 1.7-1.8x; with one
# leapfrog step (docs/results/fast_scratch.md) 1.44-1.78x. The sampling by rejection,
# sized at one thread, is left as it is.
ONE_THREAD = {
    "train_baseline": 2.0,
    "train_classifier": 2.0,
    "train_refiner": 2.0,
    "run_hmc": 1.7,
}
# Host memory that the CUDA runtime and context add to a process using a GPU (not
# measured: no GPU at hand; benchmarks/gpu_check.sh prints the peak on one).
CUDA_HOST_MB = 3000
# Start-up, loading and writing, on top of the computation, in minutes.
STARTUP_MIN = 10


def mem_mb(config: dict[str, Any], rule_name: str, attempt: int = 1) -> int:
    """Memory (MB) of the rule's jobs: twice the measured peak, rounded up to
    500 MB, plus the CUDA runtime's share where the job asks for a GPU; x attempt.

    Examples:
        >>> mem_mb({"gpus": 0}, "run_hmc"), mem_mb({"gpus": 1}, "run_hmc", 2)
        (3500, 13000)
    """
    mb = -(-2 * MEASURED_RSS_MB[rule_name] // 500) * 500
    if rule_name in GPU_RULES and config["gpus"] > 0:
        mb += CUDA_HOST_MB
    return int(mb * attempt)


def _rejection_proposals(config: dict[str, Any], dataset: str | None, n: int) -> float:
    """Proposals of a rejection run of n samples: the pilot and n / the assumed
    acceptance rate (REJECTION_ACCEPTANCE, or its _QUANTILE figure with a quantile
    bound)."""
    s = section(config, "rejection", dataset)
    q = s.get("quantile", 1.0)
    rate = REJECTION_ACCEPTANCE
    if q < 1 and s.get("bound") is None:
        # q above every listed quantile keeps the largest weight's rate
        listed = [k for k in REJECTION_ACCEPTANCE_QUANTILE if k >= q]
        if listed:
            rate = REJECTION_ACCEPTANCE_QUANTILE[min(listed)]
    return s["pilot"] + n / rate


def compute_seconds(
    config: dict[str, Any], rule_name: str, dataset: str | None = None
) -> float:
    """CPU seconds of the rule's computation for `dataset` under this config: the
    measured figure at the paper's settings (float64, 2 threads), scaled by the
    work (epochs, points, iterations, network sizes), and for jobs of one thread
    by ONE_THREAD."""
    data = config["data"] if dataset is None else section(config, "data", dataset)
    if rule_name in ITERATED:  # round 1's figure, and 40 s per 2M points for
        # each refiner a sample passes through (sample_laser's share of its time)
        k = config["refine"]["iterations"]
        n_points = {"train_classifier": data["n_classifier"]}.get(
            ITERATED[rule_name], data["n_eval"]
        )
        extra = 40 * (k - 1) * n_points / 2_000_000
        return compute_seconds(config, ITERATED[rule_name], dataset) + extra
    if rule_name == "run_omnifold":  # 2 classifiers per iteration, each on the
        # classifier's points and as many generated ones, weighted
        iterations = config["omnifold"]["iterations"]
        return 2 * iterations * compute_seconds(config, "train_classifier", dataset)
    if rule_name in BLACKBOX_AS:
        return compute_seconds(config, BLACKBOX_AS[rule_name], dataset)
    if rule_name == "run_oracle":  # as run_hmc: a leapfrog step costs 0.87 x
        # (paper's flow) to 1.04 x (rings') of HMC's with 100 chains, one pass of g
        # and the toy's density instead of g and the classifier; run_hmc's figure
        return compute_seconds(config, "run_hmc", dataset)
    factor = ONE_THREAD.get(rule_name, 1.0) if config.get("threads", 2) == 1 else 1.0
    return factor * _seconds(config, rule_name, dataset, data)


def _seconds(
    config: dict[str, Any], rule_name: str, dataset: str | None, data: dict[str, Any]
) -> float:
    """compute_seconds of a rule that is not sized as another rule, at 2 threads."""
    n_eval = data["n_eval"] / 2_000_000
    if dataset is not None:
        # the flow's cost per point relative to the paper's 12 blocks x 3 x 48
        # units (the rings' 20 x 3 x 60 measured 1.97 x per training step)
        s = section(config, "baseline", dataset)
        flow = s["n_blocks"] * s["hidden_layers"] * s["hidden_units"] / 1728
    if rule_name == "train_baseline":  # 0.23 h; rings 0.44 h
        s = section(config, "baseline", dataset)
        if s["kind"] == "gan":  # a GAN as the refiner's, on the training data
            return gan_seconds(s["gan"], data["n_train"])
        return 814 * flow * s["epochs"] / 100 * data["n_train"] / 480_000
    if rule_name == "sample_baseline":  # 2M points through g: 21 s; rings 39 s
        return 21 * flow * n_eval
    if rule_name == "sample_laser":  # and through the refiner first: 59 s; 110 s
        if section(config, "refiner", dataset).get("unweight"):  # refiner, g
            # and classifier on every proposal, the pilot and n_eval / acceptance
            # more: 12 s per 2M for each of the refiner and g (gaussians, 1 thread:
            # 13.8M proposals in 158 s); the acceptance is not known before the
            # run (0.06-0.63 measured with the 0.99999 quantile): assumed as for
            # run_rejection, by the bound's kind
            proposals = _rejection_proposals(config, dataset, data["n_eval"])
            return 12 * (1 + flow) * proposals / 2_000_000 + 21 * flow * n_eval
        return (21 * flow + 40) * n_eval
    if rule_name == "train_classifier":  # 0.09 h, after g(z) for its points
        s = section(config, "classifier", dataset)
        size = s["hidden_layers"] * s["hidden_units"] / (8 * 96)
        # with_train: the baseline's training points join the data
        n = data["n_classifier"] + (data["n_train"] if s.get("with_train") else 0)
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
        # rings' flow (measured with 100 chains); a jump from the prior costs one
        # gradient, as a leapfrog step
        s = section(config, "hmc", dataset)
        iterations = s["burn_in"] + -(-data["n_eval"] // s["n_chains"]) * s["thin"]
        per_step = (3.7e-3 + 1.76e-5 * s["n_chains"]) * (1728 * flow + 898) / 2626
        steps = s["n_leapfrog"] + (1 / s["jump_every"] if s["jump_every"] else 0)
        return iterations * steps * per_step + 21 * flow * n_eval
    if rule_name == "run_rejection":  # ESTIMATE: g and the classifier on every
        # proposal (21 s + 13 s per 2M points, as sample_baseline and
        # compute_weights; measured with 1 thread outside the workflow: 47 s, rings'
        # flow 88 s), the pilot and n_eval / acceptance more, then g of the
        # sample; the acceptance rate E_p[w] / M is not known before the run:
        # REJECTION_ACCEPTANCE (or, with a quantile bound, its _QUANTILE) is assumed
        proposals = _rejection_proposals(config, dataset, data["n_eval"])
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
        return 22 * (len(methods(config)) + 1) * n_eval
    if rule_name == "generate_data":  # 2.3-2.5 s for the 4.96M points of the
        # paper's four samples (fast run at 9563759)
        n = data["n_train"] + data["n_classifier"] + 2 * data["n_eval"]
        return 0.5 * n / 1_000_000
    if rule_name == "plot_figure":  # 6.0-6.5 s for truth and four methods (fast run)
        return 1.3 * (len(methods(config)) + 1) * n_eval + 1
    if rule_name == "generate_events":  # ESTIMATE: Pythia at the Z pole, ~3300
        # events/s on one core, with the event shapes ~2000/s
        return entry(config, dataset).get("pythia", {}).get("n_events", 2e6) / 2000
    if rule_name == "evaluate_events":  # ESTIMATE: per method the two-sample
        # classifier (epochs over n_max events) and FPD/KPD, ~60 s at the defaults
        t = config["evaluate"]["events"]["twosample"]
        per = 60 * t["epochs"] / 10 * t["n_max"] / 200_000
        return per * (len(methods(config)) + 1)
    if rule_name in ("plot_marginals", "plot_corner"):  # histograms of 2M points
        return 2 * (len(methods(config)) + 1) * n_eval + 5
    return 5  # tables and summary: pandas on a few rows, the figures read


def gan_seconds(s: dict[str, Any], n: int) -> float:
    """CPU seconds of GAN training with settings `s` on n points: 124 ms per 4 D +
    1 G updates of the paper's refiner (1.65 h for 200 epochs of 480k points)."""
    size = s["hidden_layers"] * s["hidden_units"] / (7 * 100)
    updates = (s["d_updates"] + 1) / 5
    return 5952 * size * updates * s["epochs"] / 200 * n / 480_000


def runtime(
    config: dict[str, Any],
    rule_name: str,
    dataset: str | None = None,
    attempt: int = 1,
) -> int:
    """Wall time (minutes) of the rule's jobs: start-up plus twice the measured
    computation, rounded up; x attempt."""
    seconds = compute_seconds(config, rule_name, dataset)
    return attempt * (STARTUP_MIN + int(-(-2 * seconds // 60)))
