"""Interrupted and repeated runs: nothing half-written, the same bytes twice, and a
killed job continues from its saved progress (laser.progress) to the same bytes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import yaml
from wf import SNAKEMAKE, TINY, copy_workflow, snakemake

pytestmark = pytest.mark.workflow


def write_config(work: Path, name: str, **changes: dict) -> str:
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"] = ["gaussians"]
    for section, values in changes.items():
        cfg.setdefault(section, {}).update(values)
    (work / name).write_text(yaml.safe_dump(cfg))
    return name


def wait_for(predicate, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError("condition not met in time")
        time.sleep(0.2)


@pytest.mark.parametrize("victim", ["job", "snakemake"])
def test_sigkill_during_training_leaves_nothing_complete(
    tmp_path: Path, victim: str
) -> None:
    work = copy_workflow(tmp_path)
    slow = write_config(
        work, "slow.yaml", baseline={"epochs": 100_000}, progress={"steps": 1}
    )
    model = work / "results" / "gaussians" / "baseline" / "model.pt"
    log = work / "logs" / "train_baseline" / "gaussians.log"
    proc = subprocess.Popen(
        ["timeout", "-k", "10", "300", SNAKEMAKE, "--cores", "2"]
        + [str(model.relative_to(work)), "--configfile", slow],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: log.exists() and "epoch 2/" in log.read_text(), 240)
        if victim == "job":  # the training process itself
            jobs = [
                p
                for p in psutil.Process(proc.pid).children(recursive=True)
                if any("train_baseline" in part for part in p.cmdline())
            ]
            assert jobs, "training process not found"
            for p in jobs:
                p.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            assert proc.returncode != 0
        else:  # the whole run, scheduler included
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not model.exists()
    leftovers = (
        [p.name for p in model.parent.iterdir()] if model.parent.exists() else []
    )
    assert leftovers == []
    # the progress saved after each epoch lies outside the outputs
    saved = work / "progress" / "train_baseline" / "dataset=gaussians" / "01-flow.pt"
    assert saved.exists()
    # a rerun (the normal settings) completes the step, the progress of the slow
    # settings discarded; a killed scheduler leaves its directory lock, which
    # Snakemake names and `--unlock` removes
    tiny = write_config(work, "tiny1.yaml")
    res = snakemake(work, str(model.relative_to(work)), "--configfile", tiny)
    if victim == "snakemake":
        assert res.returncode != 0 and "--unlock" in res.stderr
        assert snakemake(work, "--unlock", "--configfile", tiny).returncode == 0
        res = snakemake(work, str(model.relative_to(work)), "--configfile", tiny)
    assert res.returncode == 0, res.stderr[-3000:]
    assert model.exists()
    text = log.read_text()
    assert "discarded, stale: saved by a job with other inputs" in text, text
    assert not (work / "progress").exists()


def _kill_job_when(work: Path, args: list[str], rule: str, pattern: str) -> None:
    """Run snakemake; SIGKILL the job of `rule` once its log matches `pattern`."""
    log = work / "logs" / rule / "gaussians.log"
    proc = subprocess.Popen(
        ["timeout", "-k", "10", "300", SNAKEMAKE, "--cores", "2", *args],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: log.exists() and re.search(pattern, log.read_text()), 240)
        jobs = [
            p
            for p in psutil.Process(proc.pid).children(recursive=True)
            if any(rule in part for part in p.cmdline())
        ]
        assert jobs, f"{rule} process not found"
        for p in jobs:
            p.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert proc.returncode != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_killed_jobs_continue_from_their_progress_to_the_same_bytes(
    tmp_path: Path,
) -> None:
    """The baseline's training and the HMC chains, each killed halfway (SIGKILL,
    no chance to save) and rerun, end in the bytes of a run never stopped."""
    targets = [
        "results/gaussians/baseline/model.pt",
        "results/gaussians/hmc/samples.npz",
        "results/gaussians/hmc/diagnostics.tsv",
    ]
    # 10x the tiny training set: the baseline's epochs take about 0.1 s each
    changes = {
        "data": {"n_train": 30_000},
        "baseline": {"epochs": 30},
        "progress": {"steps": 1},
    }
    runs = {}
    for name in ("reference", "killed"):
        runs[name] = copy_workflow((tmp_path / name).mkdir() or tmp_path / name)
        write_config(runs[name], "resume.yaml", **changes)
    work = runs["killed"]
    args = [targets[1], "--configfile", "resume.yaml"]
    _kill_job_when(work, args, "train_baseline", r"progress saved at step 5/30")
    _kill_job_when(work, args, "run_hmc", r"progress saved at step 30/60")
    res = snakemake(work, *args)
    assert res.returncode == 0, res.stderr[-3000:]
    for rule, step in [("train_baseline", 5), ("run_hmc", 30)]:
        text = (work / "logs" / rule / "gaussians.log").read_text()
        # the rerun's log follows the killed attempt's
        assert f"progress saved at step {step}/" in text, text
        resumed = re.search(r"resumed at step (\d+)/", text)
        assert resumed and int(resumed.group(1)) >= step, text
    assert not (work / "progress").exists()
    res = snakemake(runs["reference"], *args)
    assert res.returncode == 0, res.stderr[-3000:]
    for t in targets:
        assert (work / t).read_bytes() == (runs["reference"] / t).read_bytes(), t


def test_same_config_gives_the_same_bytes(tmp_path: Path) -> None:
    targets = [
        "results/gaussians/data/train.npz",
        "results/gaussians/data/truth.npz",
        "results/gaussians/baseline/model.pt",
        "results/gaussians/hmc/samples.npz",
        "results/gaussians/laser/refiner.pt",
    ]
    outputs = []
    for name in ["a", "b"]:
        work = copy_workflow(
            tmp_path / name if (tmp_path / name).mkdir() is None else 0
        )
        res = snakemake(work, *targets, "--configfile", write_config(work, "one.yaml"))
        assert res.returncode == 0, res.stderr[-3000:]
        outputs.append({t: (work / t).read_bytes() for t in targets})
    for t in targets:
        assert outputs[0][t] == outputs[1][t], t
