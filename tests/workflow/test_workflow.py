"""End-to-end runs of the Snakemake workflow on the tiny config, in a temporary copy."""

from __future__ import annotations

import ast
import base64
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from html import escape as html_escape
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml
from snakemake.utils import update_config
from wf import (
    DATASETS,
    METHODS,
    REPO,
    RULES,
    TINY,
    browser,
    copy_workflow,
    job_counts,
    reasons,
    render,
    snakemake,
)

from laser import io
from laser.data.toys import TOYS
from laser.evaluation import summary, weights
from laser.latent import diagnostics, langevin
from laser.workflow import estimate
from laser.workflow.config import validate

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole workflow run once on the tiny config."""
    work = copy_workflow(tmp_path_factory.mktemp("workflow"))
    res = snakemake(work, "--configfile", "tiny.yaml", timeout=2400)
    assert res.returncode == 0, res.stderr[-5000:]
    (work / "snakemake.log").write_text(res.stdout + res.stderr)
    return work


def test_the_run_starts_with_its_wall_time_estimate(run: Path) -> None:
    """Before the first job, the estimate of laser.workflow.estimate for all the
    run's jobs on its 2 cores; each training epoch's log line has its ETA."""
    log = (run / "snakemake.log").read_text()
    m = re.search(r"Estimated wall time: (.+) for (\d+) jobs on 2 cores", log)
    assert m, log[:3000]
    assert log.index(m.group(0)) < log.index("rule generate_data")
    dry = snakemake(run, "-n", "-F", "--configfile", "tiny.yaml")
    assert int(m.group(2)) == sum(job_counts(dry.stdout).values())
    # the figure printed is the model's for those jobs
    seconds = _estimated_seconds(run, dry.stdout + dry.stderr, "tiny.yaml")
    number, unit = m.group(1).split()
    printed = float(number) * {"min": 60, "h": 3600}[unit]
    assert 0.8 < seconds / printed < 1.25, (m.group(1), seconds)
    # each job ranked by its path to the end (the model's seconds): along the
    # gaussians' chain every job before those waiting for it
    chain = ["generate_data", "train_baseline", "train_classifier"]
    chain += ["compute_weights", "train_refiner", "sample_laser", "evaluate"]
    priority = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", log):
        rule = re.match(r"\s*(?:local)?rule (\w+):", block)
        if rule and "dataset=gaussians" in block:
            found = re.search(r"^\s+priority: (\d+)$", block, re.M)
            priority[rule.group(1)] = int(found.group(1)) if found else 0
    ranks = [priority[r] for r in chain]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == len(ranks)
    assert ranks[-1] > 0, priority
    for rule in ["train_baseline", "train_classifier", "train_refiner"]:
        text = (run / "logs" / rule / "gaussians.log").read_text()
        assert re.search(r"epoch \d+/\d+ .* \(total [\d.]+s, ETA \S+", text), rule


def test_dry_run_lists_every_rule(tmp_path: Path) -> None:
    work = copy_workflow(tmp_path)
    res = snakemake(work, "-n", "--configfile", "tiny.yaml")
    assert res.returncode == 0, res.stderr
    counts = job_counts(res.stdout)
    assert counts == {
        **{rule: 3 for rule in RULES if rule not in {"table", "summary"}},
        "table": 1,
        "summary": 1,
        "all": 1,
    }


def test_a_config_file_selects_the_datasets(tmp_path: Path) -> None:
    work = copy_workflow(tmp_path)
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"] = ["rings"]
    (work / "one.yaml").write_text(yaml.safe_dump(cfg))
    res = snakemake(work, "-n", "--configfile", "one.yaml")
    assert res.returncode == 0, res.stderr
    assert job_counts(res.stdout) == {rule: 1 for rule in [*RULES, "all"]}
    assert "gaussians" not in res.stdout


def test_lint_passes() -> None:
    res = snakemake(REPO, "--lint", "--configfile", str(TINY))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Congratulations" in res.stdout + res.stderr


def test_bad_config_stops_before_any_job(tmp_path: Path) -> None:
    work = copy_workflow(tmp_path)
    bad = yaml.safe_load(TINY.read_text())
    bad["hmc"]["step_size"] = -0.1
    (work / "bad.yaml").write_text(yaml.safe_dump(bad))
    res = snakemake(work, "--configfile", "bad.yaml")
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "hmc.step_size" in out
    assert "Traceback" not in out
    assert not (work / "results").exists()


def test_table_has_every_method_with_finite_scores(run: Path) -> None:
    table = pd.read_csv(run / "results" / "table3.tsv", sep="\t")
    assert set(table["dataset"]) == set(DATASETS)
    assert set(table["convention"]) == {"paper", "normalised"}
    for (dataset, convention), group in table.groupby(["dataset", "convention"]):
        assert sorted(group["method"]) == sorted(["truth", *METHODS]), dataset
        assert np.isfinite(group[["emd", "jsd", "floor_emd", "floor_jsd"]]).all().all()
        assert (group[["emd", "jsd"]] >= 0).all().all()
        truth = group[group["method"] == "truth"].iloc[0]
        assert truth["emd"] == truth["floor_emd"]
        baseline = group[group["method"] == "baseline"].iloc[0]
        # the noise floor lies below the baseline's score
        assert truth["emd"] < baseline["emd"], (dataset, convention)
        assert truth["jsd"] < baseline["jsd"], (dataset, convention)
        papers = group.set_index("method")[["paper_emd", "paper_jsd"]]
        in_paper = ["baseline", "hmc", "laser", "dctr"]  # Table 3's methods
        if convention == "paper":
            assert papers.loc[in_paper].notna().all().all()
        else:
            assert papers.isna().all().all()
        not_in_paper = [m for m in METHODS if m not in in_paper]
        assert papers.loc[not_in_paper].isna().all().all()
        # the exact weights bring the oracle near the noise floor, far below
        # the (tiny, 3-epoch) baseline: 0.015-0.03 against 0.17-1.1 in JSD
        oracle = group[group["method"] == "oracle"].iloc[0]
        assert oracle["jsd"] < 0.5 * baseline["jsd"], (dataset, convention)
    md = (run / "results" / "table3.md").read_text()
    assert "| dataset" in md and "double_donut" in md


def test_table_has_betti_numbers(run: Path) -> None:
    table = pd.read_csv(run / "results" / "table3.tsv", sep="\t")
    for dataset, group in table.groupby("dataset"):
        by_method = group.drop_duplicates("method").set_index("method")
        true = TOYS[dataset].betti
        assert (by_method[["true_b0", "true_b1"]].to_numpy() == true).all()
        # measured in data space for every row, in latent space for the methods
        assert by_method[["b0", "b1"]].notna().all().all()
        assert (by_method["b0"] >= 1).all() and (by_method["b1"] >= 0).all()
        assert by_method.loc["truth", ["latent_b0", "latent_b1"]].isna().all()
        latent = by_method.loc[METHODS, ["latent_b0", "latent_b1"]]
        assert latent.notna().all().all() and (latent["latent_b0"] >= 1).all()
        # the truth's own numbers are recovered even at the tiny sizes
        assert tuple(by_method.loc["truth", ["b0", "b1"]]) == true, dataset
        # one threshold per dataset, in noise standard deviations
        assert group["betti_threshold"].nunique() == 1
        assert 2 < group["betti_threshold"].iloc[0] < 15


def test_samples_follow_the_file_contract(run: Path) -> None:
    cfg = yaml.safe_load(TINY.read_text())
    n = cfg["data"]["n_eval"]
    for dataset in DATASETS:
        for method in METHODS:
            with np.load(run / "results" / dataset / method / "samples.npz") as f:
                assert f["x"].shape == (n, 2) and f["x"].dtype == np.float32
                assert f["z"].shape == (n, 2) and f["z"].dtype == np.float32
                assert np.isfinite(f["x"]).all()
                if method == "dctr":
                    assert f["w"].shape == (n,) and (f["w"] > 0).all()
        with np.load(run / "results" / dataset / "data" / "train.npz") as f:
            assert f["x"].shape == (cfg["data"]["n_train"], 2)


def test_figures_logs_and_benchmarks(run: Path) -> None:
    for dataset in DATASETS:
        png = (run / "results" / dataset / "figure.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
        pdf = (run / "results" / dataset / "figure.pdf").read_bytes()
        assert pdf[:5] == b"%PDF-"
        for stage in ["train_baseline", "train_classifier"]:
            text = (run / "logs" / stage / f"{dataset}.log").read_text()
            assert re.search(r"epoch 3/3 loss [\d.]+ lr [\d.e-]+ time", text)
        text = (run / "logs" / "train_refiner" / f"{dataset}.log").read_text()
        assert "refiner epoch 2/2 d_loss" in text
        text = (run / "logs" / "run_hmc" / f"{dataset}.log").read_text()
        assert re.search(r"acceptance \d\.\d+", text)
        for rule in RULES:
            if rule != "table":
                bench = run / "benchmarks" / rule / f"{dataset}.tsv"
                if bench.exists():
                    assert "max_rss" in bench.read_text()


def test_editing_hmc_step_size_reruns_only_hmc_and_downstream(run: Path) -> None:
    cfg = yaml.safe_load(TINY.read_text())
    cfg["hmc"]["step_size"] = 0.07
    (run / "edited.yaml").write_text(yaml.safe_dump(cfg))
    res = snakemake(run, "-n", "--configfile", "edited.yaml")
    assert res.returncode == 0, res.stderr
    assert job_counts(res.stdout) == {
        "run_hmc": 3,
        "run_oracle": 3,  # the same HMC settings, on the exact weights
        "evaluate": 3,
        "plot_figure": 3,
        "table": 1,
        "summary": 1,
        "all": 1,
    }, reasons(res.stdout)


def test_editing_the_rejection_bound_leaves_plain_refiner_draws_be(run: Path) -> None:
    """The rejection section sets the bound of LaSeR's unweighting too, but
    without refiner.unweight (tiny.yaml) sample_laser neither reads it nor reruns."""
    cfg = yaml.safe_load(TINY.read_text())
    cfg["rejection"]["quantile"] = 0.999
    (run / "edited.yaml").write_text(yaml.safe_dump(cfg))
    res = snakemake(run, "-n", "--configfile", "edited.yaml")
    assert res.returncode == 0, res.stderr
    counts = job_counts(res.stdout)
    assert counts.get("run_rejection") == 3, reasons(res.stdout)
    assert "sample_laser" not in counts, reasons(res.stdout)


def _jobs(dry_run_output: str) -> dict[str, dict]:
    """The jobs of a dry run: {rule|outputs: {rule, input, output, reason}}."""
    jobs = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run_output):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if not m:
            continue
        pattern = r"^\s+(input|output|reason|wildcards|threads): (.*)$"
        field = {k: v.strip() for k, v in re.findall(pattern, block, re.M)}
        output = field.get("output", "")
        wildcards = field.get("wildcards", "")
        jobs[f"{m.group(1)}|{output}"] = {
            "rule": m.group(1),
            "input": set(filter(None, field.get("input", "").split(", "))),
            "output": set(filter(None, output.split(", "))),
            "reason": field.get("reason", ""),
            "wildcards": dict(w.split("=", 1) for w in wildcards.split(", ") if w),
            "threads": int(field.get("threads", 1)),
        }
    return jobs


def _config(work: Path, *files: str) -> dict:
    """config.yaml with `files` merged over it as --configfile merges them,
    validated."""
    config = yaml.safe_load((work / "config.yaml").read_text())
    for name in files:
        update_config(config, yaml.safe_load((work / name).read_text()))
    return validate(config, work / "schemas" / "config.schema.yaml")


def _estimated_seconds(work: Path, dry_run_output: str, *files: str) -> float:
    """laser.workflow.estimate's wall time, on 2 cores, of the jobs of a dry run
    with their threads and dependencies, under config.yaml with `files` over it."""
    tasks = _tasks(work, _jobs(dry_run_output), *files)
    return estimate.wall_seconds(estimate.by_path(tasks), 2)


def _tasks(work: Path, jobs: dict[str, dict], *files: str) -> dict:
    """laser.workflow.estimate's tasks of the jobs of a dry run (_jobs)."""
    return estimate.of_jobs(
        _config(work, *files),
        [
            (
                key,
                job["rule"],
                job["wildcards"].get("dataset"),
                job["threads"],
                [k for k, j in jobs.items() if j["output"] & job["input"]],
            )
            for key, job in jobs.items()
        ],
    )


def _downstream(jobs: dict[str, dict], roots: set[str]) -> set[str]:
    """The roots and every job that reads, directly or not, what they write."""
    out, todo = set(roots), list(roots)
    while todo:
        written = jobs[todo.pop()]["output"]
        for key, job in jobs.items():
            if key not in out and job["input"] & written:
                out.add(key)
                todo.append(key)
    return out


def _script_modules(run: Path) -> dict[str, set[str]]:
    """rule -> the package files its script imports, directly or not, read by
    Python itself (the modules in sys.modules after the script's imports)."""
    rules_dir = run / "rules"
    scripts = {}
    for smk in rules_dir.glob("*.smk"):
        for m in re.finditer(
            r"^rule (\w+):(.*?)(?=^rule |\Z)", smk.read_text(), re.M | re.S
        ):
            s = re.search(r'script:\s*"\.\./scripts/(\w+\.py)"', m.group(2))
            if s:
                scripts[m.group(1)] = s.group(1)
    out = {}
    for rule, name in scripts.items():
        tree = ast.parse((run / "scripts" / name).read_text())
        lines = [
            ast.unparse(n)
            for n in tree.body
            if isinstance(n, ast.Import | ast.ImportFrom)
        ]
        listing = (
            "print(json.dumps(sorted(getattr(m, '__file__', '') for n, m in "
            "sys.modules.items() if n == 'laser' or n.startswith('laser.'))))"
        )
        prog = "\n".join(["import json, sys", *lines, listing])
        env = {**os.environ, "PYTHONPATH": str(run)}
        cmd = [sys.executable, "-c", prog]
        res = subprocess.run(cmd, cwd=run, capture_output=True, text=True, env=env)
        assert res.returncode == 0, res.stderr[-2000:]
        out[rule] = {str(Path(f).resolve()) for f in json.loads(res.stdout)}
    return out


def test_editing_a_package_module_reruns_exactly_its_jobs(
    run: Path, tmp_path: Path
) -> None:
    """A module of laser/ is edited (its content and mtime); a dry run must rerun
    exactly the jobs whose scripts import it, directly or not, and what reads
    their outputs. Snakemake names the edited module as the reason only for jobs
    that no other rerun job feeds; each of those must import it. One exception
    the workflow makes on purpose: laser/models/gan.py counts only for jobs that
    load a GAN (the tiny config's refiners; its baselines are flows). The module
    is then restored, bytes and times. One module of each set of importing jobs
    is edited (tests/unit/workflow/test_code.py checks every script's code inputs
    against what Python imports), half of them in a copy of the run, which, moved,
    has nothing to rerun either (the jobs' code inputs are relative to the working
    directory)."""
    res = snakemake(run, "-n", "--configfile", "tiny.yaml")
    assert res.returncode == 0 and "Nothing to be done" in res.stdout + res.stderr
    uses = _script_modules(run)
    res = snakemake(run, "-n", "-F", "--configfile", "tiny.yaml")
    assert res.returncode == 0, res.stderr[-2000:]
    every = _jobs(res.stdout + res.stderr)
    assert {job["rule"] for job in every.values()} == {*RULES, "all"}
    copy = shutil.copytree(run, tmp_path / "copy", symlinks=True)
    res = snakemake(copy, "-n", "--configfile", "tiny.yaml")
    assert res.returncode == 0 and "Nothing to be done" in res.stdout + res.stderr

    refiners = {"train_refiner", "sample_laser"}

    def importers(rel: Path) -> frozenset[str]:
        key = str((run / rel).resolve())
        return frozenset(
            job
            for job, spec in every.items()
            if key in uses.get(spec["rule"], ())
            and (rel.as_posix() != "laser/models/gan.py" or spec["rule"] in refiners)
        )

    def edit(work: Path, rel: Path) -> None:
        path = work / rel
        text, stat = path.read_bytes(), path.stat()
        try:
            path.write_bytes(text + b"\n# an edit\n")
            res = snakemake(work, "-n", "--configfile", "tiny.yaml")
        finally:
            path.write_bytes(text)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert res.returncode == 0, res.stderr[-2000:]
        rerun = _jobs(res.stdout + res.stderr)
        importing = importers(rel)
        expected = _downstream(every, importing)
        assert set(rerun) == expected, (
            f"{rel}: reran {sorted(set(rerun) - expected)} unexpectedly, "
            f"did not rerun {sorted(expected - set(rerun))}"
        )
        named = {
            job
            for job, spec in rerun.items()
            if re.search(rf"(^|[ ,:]){re.escape(rel.as_posix())}(,|$)", spec["reason"])
        }
        assert named <= importing, f"{rel}: {sorted(named - importing)}"
        for job in expected - named:
            assert "Input files updated by another job" in rerun[job]["reason"], job

    modules = {}  # a module for each set of importing jobs
    for rel in sorted(p.relative_to(run) for p in (run / "laser").rglob("*.py")):
        modules.setdefault(importers(rel), rel)
    modules = list(modules.values())

    def edit_each(work: Path, half: list[Path]) -> None:
        for rel in half:
            edit(work, rel)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(edit_each, [run, copy], [modules[::2], modules[1::2]]))
    for work in (run, copy):
        res = snakemake(work, "-n", "--configfile", "tiny.yaml")
        assert "Nothing to be done" in res.stdout + res.stderr


def test_estimate_of_the_fast_study_against_its_record(tmp_path: Path) -> None:
    """The wall-time estimate of the fast study's 39 jobs on 2 cores, from its dry
    run's jobs and dependencies, against the same jobs and dependencies with the
    CPU seconds its record over three seeds measured for them
    (docs/results/fast_ranked_timings.tsv; a job the record lacks, at the model's
    figure): within 0.75-1.33x of each seed's."""
    work = copy_workflow(tmp_path)
    res = snakemake(work, "-n", "-F", "--configfile", "config/fast.yaml")
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout + res.stderr
    jobs = _jobs(out)
    assert len(jobs) == 39  # rejection on each toy
    seconds = _estimated_seconds(work, out, "config/fast.yaml")
    tasks = _tasks(work, jobs, "config/fast.yaml")
    record = pd.read_csv(
        REPO / "docs" / "results" / "fast_ranked_timings.tsv", sep="\t"
    )
    cpu = {(r.rule, r.run): r.cpu_seconds for r in record.itertuples()}
    for suffix in ("", ".seed2", ".seed3"):
        measured = dict(tasks)
        found = 0
        for key, job in jobs.items():
            run = job["wildcards"].get("dataset", "") + suffix
            if (job["rule"], run) in cpu:
                measured[key] = dataclasses.replace(
                    tasks[key], seconds=cpu[job["rule"], run]
                )
                found += 1
        assert found == 36, suffix  # every job of the three toys
        # in the order the workflow starts them: by the model's path to the end
        wall = estimate.wall_seconds(
            {k: measured[k] for k in estimate.by_path(tasks)}, 2
        )
        assert 0.75 < seconds / wall < 1.33, (suffix, seconds, wall)


def test_report(run: Path) -> None:
    """The report as the Makefile writes it, then opened as a person would, in a
    headless browser: its landing page shows the scores beside the paper's and
    every figure first (a screenshot is saved beside the report)."""
    res = snakemake(
        run,
        "--configfile",
        "tiny.yaml",
        "--report",
        "report.html",
        "--report-metadata",
        "report/metadata.yaml",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    html = (run / "report.html").read_text(errors="replace")
    assert "Table 3" in html and "Figures" in html
    assert "Weights" in html and "Kish" in html
    assert "HMC diagnostics" in html
    assert "Sampler diagnostics" in html
    chromium = browser()
    dom = render(chromium, run / "report.html", run / "report.png")
    # Snakemake's report keeps its data in <script> elements after the page: what
    # counts is what its scripts rendered before them.
    data = dom.index('<script id="workflow-desc"')
    start = dom.find('id="laser-summary"')
    assert 0 < start < data, "the landing page does not show the summary"
    end = dom.index("</section>", start)
    assert end < dom.index("About this study") < data, "the scores do not come first"
    landing = dom[start:end]
    table = io.load_table(run / "results" / "table3.tsv")
    for row in summary.headline(table).to_dict("records"):
        for column, cell in row.items():
            assert html_escape(cell) in landing, (column, cell)
    for dataset in DATASETS:
        png = (run / "results" / dataset / "figure.png").read_bytes()
        img = f'src="data:image/png;base64,{base64.b64encode(png).decode()}"'
        assert f'id="figure-{dataset}"' in landing and img in landing, dataset
    # the screenshot shows the figures: their histograms' lowest colour (viridis)
    # covers much of it, and none of Snakemake's own pages
    shot = plt.imread(run / "report.png")[..., :3]
    assert shot.shape[0] >= 1000 and shot.shape[1] >= 1200
    lowest = np.array(plt.get_cmap("viridis")(0.0)[:3])
    share = (np.abs(shot - lowest).max(axis=-1) < 0.06).mean()
    assert share > 0.02, f"the figures cover {share:.2%} of the screenshot"


def test_hmc_diagnostics_table(run: Path) -> None:
    cfg = yaml.safe_load(TINY.read_text())["hmc"]
    for dataset in DATASETS:
        t = pd.read_csv(run / "results" / dataset / "hmc" / "diagnostics.tsv", sep="\t")
        assert list(t["dim"]) == [0, 1]
        assert (t["chains"] == cfg["n_chains"]).all()
        assert np.isfinite(t[["rhat", "ess_bulk", "ess_tail"]]).all().all()
        assert (t["ess_bulk"] > 0).all()
        # the tiny config adapts the step during burn-in towards acceptance 0.8
        assert 0.5 < t["acceptance_rate"].iloc[0] < 0.95, dataset
        assert t["step_size"].iloc[0] != cfg["step_size"]
        log = (run / "logs" / "run_hmc" / f"{dataset}.log").read_text()
        assert "HMC step size adapted" in log
        assert "HMC health" in log or "HMC HEALTH" in log


def test_sampler_diagnostics_tables(run: Path) -> None:
    cfg = yaml.safe_load(TINY.read_text())
    n = cfg["data"]["n_eval"]
    for dataset in DATASETS:
        out = run / "results" / dataset
        t = pd.read_csv(out / "rejection" / "diagnostics.tsv", sep="\t")
        assert list(t.columns) == diagnostics.REJECTION_COLUMNS and len(t) == 1
        row = t.iloc[0]
        assert row["samples"] == n and row["accepted"] >= n
        assert row["bound_source"] == "pilot"
        assert row["pilot"] == cfg["rejection"]["pilot"]
        bound = row["pilot_max_weight"] * cfg["rejection"]["bound_factor"]
        assert row["bound"] == pytest.approx(bound, rel=1e-5)
        assert row["max_weight"] <= row["bound"] or row["clipped_fraction"] > 0
        assert 0 <= row["clipped_fraction"] < 0.01 and row["clipped_mass"] >= 0
        # given the proposals' weights, the accepted count has mean sum(w) / M
        # (w <= M) and variance at most proposals / 4
        acc, m = row["acceptance_rate"], row["proposals"]
        tol = 4 * 0.5 / m**0.5 + row["clipped_fraction"]
        assert abs(acc - row["mean_weight"] / row["bound"]) < tol, dataset
        log = (run / "logs" / "run_rejection" / f"{dataset}.log").read_text()
        assert "rejection: acceptance" in log and "expected acceptance" in log

        t = pd.read_csv(out / "langevin" / "diagnostics.tsv", sep="\t")
        assert list(t.columns) == langevin.LANGEVIN_COLUMNS
        assert list(t["dim"]) == [0, 1]
        lan = cfg["langevin"]
        assert (t["chains"] == lan["n_chains"]).all() and (t["draws"] == n).all()
        assert (t["step_size"] == lan["step_size"]).all()
        assert (t["burn_in_steps"] == lan["n_steps"]).all()
        assert (t["thin"] == lan["thin"]).all() and (t["init"] == lan["init"]).all()
        assert np.isfinite(t[["rhat", "ess_bulk", "ess_tail"]]).all().all()
        log = (run / "logs" / "run_langevin" / f"{dataset}.log").read_text()
        assert "Langevin (unadjusted)" in log


def test_weight_diagnostics(run: Path) -> None:
    cfg = yaml.safe_load(TINY.read_text())
    n, n_cal = cfg["data"]["n_eval"], cfg["data"]["n_classifier"]
    bins = cfg["evaluate"]["calibration_bins"]
    for dataset in DATASETS:
        out = run / "results" / dataset / "weights"
        diag = pd.read_csv(out / "diagnostics.tsv", sep="\t")
        assert list(diag.columns) == weights.SUMMARY_COLUMNS and len(diag) == 1
        row = diag.iloc[0]
        assert row["dataset"] == dataset and row["n"] == n
        assert row["n_calibration"] == n_cal
        for col in ["ess", "ess_exact"]:
            assert 0 < row[col] <= 1, (dataset, col)
        assert row["w_min"] <= row["w_p50"] <= row["w_max"]
        assert -1 <= row["log_w_corr"] <= 1 and row["log_w_mad"] > 0
        assert 0 <= row["calibration_error"] < 0.5
        # the learned weights are those of the DCTR sample
        with np.load(run / "results" / dataset / "dctr" / "samples.npz") as f:
            log_w = f["log_w"].astype(np.float64)
        assert row["ess"] == pytest.approx(weights.kish_ess(log_w), rel=1e-5)
        curve = pd.read_csv(out / "calibration.tsv", sep="\t")
        assert list(curve.columns) == weights.CALIBRATION_COLUMNS
        assert len(curve) == bins
        assert curve["n_data"].sum() == curve["n_generated"].sum() == n_cal
        filled = curve.dropna()
        assert len(filled) >= 1
        assert ((filled["observed"] >= 0) & (filled["observed"] <= 1)).all()
        png = (out / "diagnostics.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
        log = (run / "logs" / "weight_diagnostics" / f"{dataset}.log").read_text()
        assert f"{dataset} weights:" in log


def test_training_classifier_and_evaluation_samples_are_disjoint(run: Path) -> None:
    # The flow's training points, the classifier's target points, the truth and the
    # independent truth are separate draws: no point is shared between any two.
    for dataset in DATASETS:
        data = run / "results" / dataset / "data"
        sets = {}
        for name in ("train", "classifier", "truth", "truth_test"):
            x = np.ascontiguousarray(io_load(data / f"{name}.npz"))
            rows = x.view(np.dtype((np.void, x.dtype.itemsize * x.shape[1])))
            sets[name] = set(rows.ravel().tolist())
            assert len(sets[name]) == len(x), (dataset, name)  # no repeats
        names = list(sets)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                assert not sets[a] & sets[b], (dataset, a, b)


def io_load(path: Path) -> np.ndarray:
    with np.load(path) as f:
        return f["x"]


@pytest.mark.workflow
def test_bad_sampler_config_stops_the_workflow_naming_the_key(tmp_path) -> None:
    work = copy_workflow(tmp_path)
    bad = yaml.safe_load(TINY.read_text())
    bad["langevin"]["step_size"] = -0.01
    (work / "bad.yaml").write_text(yaml.safe_dump(bad))
    res = snakemake(work, "-n", "--configfile", "bad.yaml", timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "'langevin.step_size' = -0.01" in out
    assert "Traceback" not in out
