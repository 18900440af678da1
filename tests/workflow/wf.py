"""Running the workflow in tests: a temporary copy, snakemake under a timeout."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "configs" / "tiny.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
DATASETS = ["gaussians", "double_donut", "rings"]
METHODS = ["baseline", "hmc", "laser", "dctr", "oracle", "rejection", "langevin"]
RULES = [
    "generate_data",
    "train_baseline",
    "sample_baseline",
    "train_classifier",
    "compute_weights",
    "weight_diagnostics",
    "train_refiner",
    "sample_laser",
    "run_hmc",
    "run_oracle",
    "run_rejection",
    "run_langevin",
    "evaluate",
    "plot_figure",
    "table",
    "summary",
]


def copy_workflow(dest: Path) -> Path:
    """A copy of the workflow's sources (no results, no venv, no git)."""
    for name in ["Snakefile", "config.yaml", "pyproject.toml"]:
        shutil.copy(REPO / name, dest / name)
    for name in [
        "rules",
        "scripts",
        "schemas",
        "laser",
        "report",
        "envs",
        "profiles",
        "config",
    ]:
        shutil.copytree(
            REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(TINY, dest / "tiny.yaml")
    return dest


def snakemake(
    workdir: Path, *args: str, timeout: int = 1200
) -> subprocess.CompletedProcess:
    """Run snakemake in `workdir` under a hard timeout (it is killed after it).
    The timeouts leave room for `make test`'s two workers, which run two tests at
    once on 2 cores: at least 4x a test's run alone."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    cmd = ["timeout", "-k", "15", str(timeout), SNAKEMAKE, "--cores", "2", *args]
    return subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, env=env, check=False
    )


def reasons(dry_run_output: str) -> str:
    """The distinct 'reason:' lines of a dry run, for assertion messages."""
    lines = {ln.strip() for ln in dry_run_output.splitlines() if "reason:" in ln}
    return "\n".join(sorted(lines))


def job_counts(dry_run_output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    block = dry_run_output.split("Job stats:")[-1]
    counts = {}
    for line in block.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


def browser() -> str:
    """Chromium's command: skips the test where there is none, unless
    LASER_REQUIRE_BROWSER=1 (set by .ci/run, which installs Debian's chromium)."""
    import pytest

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("LASER_REQUIRE_BROWSER") == "1":
        pytest.fail("no chromium on PATH, and LASER_REQUIRE_BROWSER=1")
    pytest.skip("no chromium on PATH (.ci/run installs Debian's chromium)")


def render(chromium: str, page: Path, screenshot: Path, timeout: int = 120) -> str:
    """The DOM of `page` after its scripts ran in headless Chromium, and a
    screenshot of its first 1400 x 1800 pixels."""
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=1400,1800",
        "--virtual-time-budget=20000",
    ]
    url = page.resolve().as_uri()
    for extra in (["--dump-dom"], [f"--screenshot={screenshot}"]):
        cmd = ["timeout", "-k", "10", str(timeout), chromium, *flags, *extra, url]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert res.returncode == 0, res.stderr[-3000:]
        if extra == ["--dump-dom"]:
            dom = res.stdout
    assert screenshot.is_file(), "chromium wrote no screenshot"
    return dom
