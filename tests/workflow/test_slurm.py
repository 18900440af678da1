"""Cluster execution: the rules' resources, and the tiny config run through
`snakemake --profile profiles/slurm` on a real SLURM cluster.

The cluster tests need a running cluster with an idle node that advertises a GPU
(gres gpu), as `.ci/slurm.sh start` sets up on this machine (CI does, around
`make test`). Without one they skip, saying why; with LASER_REQUIRE_SLURM=1 (set by
.ci/run) they fail instead.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import yaml
from wf import METHODS, REPO, RULES, TINY, copy_workflow, snakemake

# the rules that compute with torch, and so may ask for a GPU
TORCH_RULES = set(RULES) - {
    "generate_data",
    "evaluate",
    "plot_figure",
    "table",
    "summary",
}
# Paper's settings on the 2-core CPU, float64 (docs/timings/paper_cpu_float64.tsv),
# in minutes: the jobs must ask for at least twice as long.
PAPER_CPU_MINUTES = {
    ("train_baseline", "gaussians"): 0.23 * 60,
    ("train_baseline", "rings"): 0.44 * 60,
    ("train_classifier", "gaussians"): 0.09 * 60,
    ("train_refiner", "gaussians"): 1.65 * 60,
    ("run_hmc", "gaussians"): 1.76 * 60,
    ("run_hmc", "rings"): 3.01 * 60,
    ("evaluate", "gaussians"): 1.5,
}
JOB_PREFIX = "lasertest"  # SLURM job names of the workflow test: lasertest_<uuid>
# quicker status checks than the profile's, for jobs of seconds, and the test's
# job names
TEST_JOBS = [
    "--slurm-init-seconds-before-status-checks", "4",
    "--seconds-between-status-checks", "4",
    "--slurm-jobname-prefix", JOB_PREFIX,
]  # fmt: skip


def dry_run_jobs(output: str) -> list[dict]:
    """The jobs of a dry run: rule, dataset, threads and resources of each."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        m = re.match(r"(?:local)?rule (\w+):", block)
        if not m or m.group(1) == "all":
            continue
        dataset = re.search(r"wildcards: dataset=(\w+)", block)
        threads = re.search(r"threads: (\d+)", block)
        res = re.search(r"resources: (.*)", block)
        resources = dict(kv.split("=", 1) for kv in res.group(1).split(", "))
        jobs.append(
            {
                "rule": m.group(1),
                "dataset": dataset.group(1) if dataset else None,
                "threads": int(threads.group(1)) if threads else 1,
                **resources,
            }
        )
    return jobs


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("resources"))


def test_every_rule_declares_threads_memory_and_runtime(workdir: Path) -> None:
    # the paper's settings, with every method (rejection and langevin are not in
    # the default methods)
    res = snakemake(workdir, "-n", "--config", f"methods=[{','.join(METHODS)}]")
    assert res.returncode == 0, res.stderr
    jobs = dry_run_jobs(res.stdout)
    assert {j["rule"] for j in jobs} == set(RULES)
    for job in jobs:
        rule = job["rule"]
        assert int(job["mem_mb"]) >= 1000, job
        assert int(job["runtime"]) >= 10, job
        assert job["threads"] == (2 if rule in TORCH_RULES else 1), job
        # gpus: 0 in config.yaml: the torch rules declare gpu=0, the others none
        assert job.get("gpu") == ("0" if rule in TORCH_RULES else None), job
    for (rule, dataset), minutes in PAPER_CPU_MINUTES.items():
        job = next(j for j in jobs if (j["rule"], j["dataset"]) == (rule, dataset))
        assert 2 * minutes <= int(job["runtime"]) <= 2 * minutes + 20, job


def test_gpus_config_sets_the_gpu_request_of_the_torch_rules(workdir: Path) -> None:
    res = snakemake(workdir, "-n", "--config", "gpus=1")
    assert res.returncode == 0, res.stderr
    cpu = {
        (j["rule"], j["dataset"]): j
        for j in dry_run_jobs(snakemake(workdir, "-n").stdout)
    }
    for job in dry_run_jobs(res.stdout):
        rule, other = job["rule"], cpu[job["rule"], job["dataset"]]
        assert job.get("gpu") == ("1" if rule in TORCH_RULES else None), job
        if rule in TORCH_RULES:  # room for the CUDA runtime in host memory
            assert int(job["mem_mb"]) > int(other["mem_mb"]), job
    res = snakemake(workdir, "-n", "--config", "gpus=-1")
    assert res.returncode != 0 and "gpus" in res.stdout + res.stderr


# --- on a SLURM cluster ------------------------------------------------------------


@functools.cache
def _cluster_problem() -> str | None:
    """Why the cluster tests cannot run here, or None."""
    if shutil.which("sinfo") is None:
        return "no SLURM here (sinfo not found); .ci/slurm.sh start sets one up"
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%t %G"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 30 s"
    if out.returncode != 0:
        err = "; ".join(out.stderr.split("\n")).strip("; ")[:300]
        return f"no SLURM cluster running here (sinfo failed: {err})"
    nodes = [line.split() for line in out.stdout.splitlines() if line.strip()]
    idle = [n for n in nodes if n[0] in ("idle", "mix")]
    if not idle:
        return f"no idle SLURM node (sinfo: {out.stdout.strip()[:200] or 'none'})"
    if not any("gpu" in " ".join(n[1:]) for n in idle):
        return "no idle SLURM node advertises a GPU (gres gpu); the test asks --gpus=1"
    return None


@pytest.fixture(scope="module")
def cluster() -> None:
    problem = _cluster_problem()
    if problem is None:
        return
    if os.environ.get("LASER_REQUIRE_SLURM") == "1":
        pytest.fail(f"LASER_REQUIRE_SLURM=1, but {problem}")
    pytest.skip(problem)


def _scontrol_job(job_id: str) -> str:
    """`scontrol show job` of a job, on one line (finished jobs stay known for
    MinJobAge seconds)."""
    return subprocess.run(
        ["scontrol", "-d", "-o", "show", "job", job_id],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout


def _cancel_test_jobs() -> None:
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i %j"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    ids = [
        line.split()[0]
        for line in out.stdout.splitlines()
        if len(line.split()) == 2 and line.split()[1].startswith(JOB_PREFIX + "_")
    ]
    if ids:
        subprocess.run(["scancel", *ids], timeout=30, check=False)


@pytest.mark.workflow
@pytest.mark.usefixtures("cluster")
def test_a_gpu_job_gets_a_gpu_and_device_auto_falls_back_to_the_cpu(
    tmp_path: Path,
) -> None:
    """SLURM gives a --gpus=1 job CUDA_VISIBLE_DEVICES; where torch finds no CUDA
    device (here: the CPU build, a node whose GPU is /dev/null) `device: auto`
    computes on the CPU and logs it."""
    script = tmp_path / "job.py"
    script.write_text(
        "import logging, os, torch\n"
        "from laser.workflow.job import resolve_device\n"
        "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
        "print('CUDA_VISIBLE_DEVICES', os.environ.get('CUDA_VISIBLE_DEVICES'))\n"
        "print('cuda_available', torch.cuda.is_available())\n"
        "print('resolved', resolve_device('auto'))\n"
    )
    out = tmp_path / "job.out"
    cmd = [
        "timeout", "-k", "15", "120",
        "sbatch", "--wait", "--gpus=1", "--cpus-per-task=1", "--mem=1000", "-t", "5",
        f"--job-name={JOB_PREFIX}_gpu", f"--output={out}", "-D", str(tmp_path),
        f"--wrap={sys.executable} {script}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    _cancel_test_jobs()
    assert res.returncode == 0, res.stdout + res.stderr + out.read_text()
    text = out.read_text()
    assert re.search(r"^CUDA_VISIBLE_DEVICES \d", text, re.M), text
    if "cuda_available False" in text:
        assert "device: cpu" in text and "resolved cpu" in text, text
    else:
        assert "device: cuda" in text and "resolved cuda" in text, text


@pytest.mark.workflow
@pytest.mark.usefixtures("cluster")
def test_the_workflow_on_slurm_makes_the_table_of_a_local_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The tiny config (gaussians; its torch rules asking for a GPU) through
    profiles/slurm, as sbatch jobs, beside a local run of the same config."""
    cfg = yaml.safe_load(TINY.read_text())
    cfg.update(datasets=["gaussians"], gpus=1, device="auto")
    runs = {}
    for name in ("slurm", "local"):
        runs[name] = copy_workflow(tmp_path_factory.mktemp(name))
        (runs[name] / "cluster.yaml").write_text(yaml.safe_dump(cfg))
    slurm_args = [
        "--profile", "profiles/slurm", "--configfile", "cluster.yaml", "--verbose",
        *TEST_JOBS,
    ]  # fmt: skip
    t0 = time.monotonic()
    try:
        with ThreadPoolExecutor(2) as pool:
            slurm = pool.submit(snakemake, runs["slurm"], *slurm_args, timeout=1800)
            local = pool.submit(
                snakemake, runs["local"], "--configfile", "cluster.yaml", timeout=1800
            )
            slurm, local = slurm.result(), local.result()
    finally:
        _cancel_test_jobs()
    wall = time.monotonic() - t0
    out = slurm.stdout + slurm.stderr
    assert slurm.returncode == 0, out[-8000:]
    assert local.returncode == 0, local.stderr[-5000:]
    # the estimate before the first job: every job at once (the profile's --jobs 50)
    n = len(RULES) + 1  # and `all`
    estimated = rf"Estimated wall time: .+ for {n} jobs {n} at a time on the cluster"
    assert re.search(estimated, out), out[:3000]

    # every rule's job went through sbatch, the torch rules' with --gpus=1
    calls = {}
    for line in out.splitlines():
        if "sbatch call:" in line:
            head = line.split(" --wrap=")[0]
            rule = re.search(r"--comment rule_(\w+?)(?:_wildcards_\w+)?\s", head)
            calls[rule.group(1)] = head
    assert set(calls) == set(RULES), sorted(calls)
    for rule, call in calls.items():
        assert ("--gpus=1" in call) == (rule in TORCH_RULES), call
        assert re.search(r" -t \d+ --mem \d+ ", call), call
    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", out)
    assert len(job_ids) == len(RULES), out[-3000:]
    # SLURM allocated a GPU to each torch job and none to the others (finished
    # jobs stay known to scontrol for MinJobAge seconds, an hour in .ci/slurm.sh)
    for job_id in job_ids:
        show = _scontrol_job(job_id)
        found = re.search(r"Comment=rule_(\w+?)(?:_wildcards_\w+)?\s", show)
        assert found, f"scontrol no longer knows job {job_id} (MinJobAge): {show!r}"
        rule = found.group(1)
        assert "JobState=COMPLETED" in show, show
        assert ("JOB_GRES=gpu:1" in show) == (rule in TORCH_RULES), show

    # same seeds, same bytes
    table = "results/table3.tsv"
    a, b = (runs["slurm"] / table).read_bytes(), (runs["local"] / table).read_bytes()
    assert a == b, (a.decode(), b.decode())
    assert set(pd.read_csv(runs["slurm"] / table, sep="\t")["dataset"]) == {"gaussians"}
    log = (runs["slurm"] / "logs" / "train_baseline" / "gaussians.log").read_text()
    assert re.search(r"device: (cpu|cuda)", log), log
    print(f"workflow on SLURM and locally: {wall:.0f} s")


@pytest.mark.workflow
@pytest.mark.usefixtures("cluster")
def test_a_job_past_its_wall_time_continues_on_the_retry(tmp_path: Path) -> None:
    """The baseline's training, about 1.7 minutes of work, under SLURM's shortest
    wall time (1 minute): SLURM stops each attempt (SIGTERM, then SIGKILL 30 s
    later), the loop saves its progress on SIGTERM, and the profile's retries
    continue from it until the training completes."""
    work = copy_workflow(tmp_path)
    cfg = yaml.safe_load(TINY.read_text())
    cfg.update(datasets=["gaussians"], progress={"minutes": 0, "steps": 0})
    cfg["data"]["n_train"] = 30_000
    epochs = 300
    cfg["baseline"]["epochs"] = epochs
    (work / "walltime.yaml").write_text(yaml.safe_dump(cfg))
    target = "results/gaussians/baseline/model.pt"
    args = [
        target, "--profile", "profiles/slurm", "--configfile", "walltime.yaml",
        "--set-resources", "train_baseline:runtime=1", "--retries", "10",
        *TEST_JOBS,
    ]  # fmt: skip
    t0 = time.monotonic()
    try:
        res = snakemake(work, *args, timeout=2400)
    finally:
        _cancel_test_jobs()
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-8000:]
    assert (work / target).exists()
    log = (work / "logs" / "train_baseline" / "gaussians.log").read_text()
    # every attempt but the last stopped on SIGTERM, saving after the minibatch it
    # was in; each retry continued from the save before it
    stops = [
        (int(e) - 1, int(b)) if e else (int(s), 0)
        for b, e, s in re.findall(
            r"stopped by SIGTERM at (?:minibatch (\d+) of epoch (\d+)|step (\d+))/",
            log,
        )
    ]
    resumed = [
        (int(s), int(b or 0))
        for s, b in re.findall(
            rf"resumed at step (\d+)/{epochs}(?: and (\d+) minibatches)?", log
        )
    ]
    # (an attempt that SLURM ends just after the training, while Snakemake records
    # the job, reruns from the final save: "resumed at step 300/300")
    assert stops and resumed[: len(stops)] == stops, log[-5000:]
    assert set(resumed[len(stops) :]) <= {(epochs, 0)}, resumed
    assert stops == sorted(stops) and stops[0] > (0, 0), stops
    assert f"flow epoch {epochs}/{epochs}" in log
    assert not (work / "progress").exists()
    # SLURM ended the attempts before the last for their time limit (scontrol
    # knows a finished job for MinJobAge seconds; one it forgot is left out)
    ids = re.findall(r"SLURM jobid (\d+) \(log: \S+/rule_train_baseline/", out)
    assert len(ids) == len(resumed) + 1, out[-5000:]
    states = [re.search(r"JobState=(\w+)", _scontrol_job(i)) for i in ids]
    assert states[-1] and states[-1].group(1) == "COMPLETED", states
    assert {s.group(1) for s in states[:-1] if s} <= {"TIMEOUT"}, states
    print(
        f"train_baseline past its wall time: {len(ids)} attempts, stopped at "
        f"(epochs, minibatches) {stops}, {time.monotonic() - t0:.0f} s"
    )
