"""A study over seeds end to end (config key seeds), on the tiny config with the
flow refiner's identity start and reverse-KL term and HMC's systematic starts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from wf import TINY, copy_workflow, job_counts, reasons, snakemake

from laser import io

pytestmark = pytest.mark.workflow

METHODS = ["baseline", "hmc", "laser", "dctr", "rejection"]


def _config(seeds: int) -> dict:
    cfg = yaml.safe_load(TINY.read_text())
    cfg.update(datasets=["gaussians"], methods=METHODS, seeds=seeds)
    cfg["refiner"].update(kind="flow", residual=True, reverse_kl=0.5)
    cfg["hmc"]["init"] = "systematic"
    return cfg


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seed first, then the same study over two."""
    work = copy_workflow(tmp_path_factory.mktemp("seeds"))
    (work / "one.yaml").write_text(yaml.safe_dump(_config(1)))
    (work / "two.yaml").write_text(yaml.safe_dump(_config(2)))
    res = snakemake(work, "--configfile", "one.yaml", timeout=1800)
    assert res.returncode == 0, res.stderr[-5000:]
    dry = snakemake(work, "-n", "--configfile", "two.yaml")
    assert dry.returncode == 0, dry.stderr[-3000:]
    (work / "dry.log").write_text(dry.stdout)
    res = snakemake(work, "--configfile", "two.yaml", timeout=1800)
    assert res.returncode == 0, res.stderr[-5000:]
    return work


def test_a_second_seed_reruns_nothing_of_the_first(run: Path) -> None:
    dry = (run / "dry.log").read_text()
    counts = job_counts(dry)
    # the replica's jobs once each; of the first seed only what folds the seeds
    assert counts["generate_data"] == counts["train_refiner"] == 1, reasons(dry)
    assert counts["table_seeds"] == 1
    outputs = [ln for ln in dry.splitlines() if ln.strip().startswith("output:")]
    assert not [ln for ln in outputs if "results/gaussians/" in ln], reasons(dry)


def test_each_replica_draws_its_own_data_and_networks(run: Path) -> None:
    one, two = (run / "results" / d for d in ("gaussians", "gaussians.seed2"))
    x1 = io.load_samples(one / "data" / "truth.npz")["x"]
    x2 = io.load_samples(two / "data" / "truth.npz")["x"]
    assert x1.shape == x2.shape and not np.array_equal(x1, x2)
    z1 = io.load_samples(one / "hmc" / "samples.npz")["z"]
    z2 = io.load_samples(two / "hmc" / "samples.npz")["z"]
    assert not np.array_equal(z1, z2)


def test_the_table_over_seeds(run: Path) -> None:
    table = io.load_table(run / "results" / "table3.tsv")
    assert set(table["dataset"]) == {"gaussians", "gaussians.seed2"}
    folded = io.load_table(run / "results" / "table3_seeds.tsv")
    assert set(folded["dataset"]) == {"gaussians"}
    assert set(folded["method"]) == {"truth", *METHODS}
    assert (folded["seeds"] == 2).all()
    paper = folded[folded["convention"] == "paper"].set_index("method")
    rows = table[table["convention"] == "paper"]
    for m in METHODS:
        emd = rows.loc[rows["method"] == m, "emd"]
        assert paper.at[m, "emd"] == pytest.approx(emd.mean(), rel=1e-4)
        assert paper.at[m, "emd_sd"] == pytest.approx(emd.std(ddof=1), rel=1e-3)
        assert paper.at[m, "emd_over_floor"] == pytest.approx(
            emd.mean() / rows.loc[rows["method"] == m, "floor_emd"].mean(), rel=1e-3
        )
        b0 = rows.loc[rows["method"] == m, "b0"].astype(int).astype(str)
        assert paper.at[m, "b0"] == " ".join(b0)
        assert 0 <= paper.at[m, "betti_ok"] <= 2
    md = (run / "results" / "table3_seeds.md").read_text()
    assert "±" in md and "b0 per seed" in md
    page = (run / "results" / "summary.html").read_text()
    assert "Over seeds" in page


def test_the_flow_refiner_ran_with_its_reverse_kl_term(run: Path) -> None:
    log = (run / "logs" / "train_refiner" / "gaussians.seed2.log").read_text()
    assert "identity start True, reverse KL x 0.5" in log
    assert pd.notna(
        io.load_table(run / "results" / "gaussians" / "metrics.tsv")["emd"]
    ).all()
