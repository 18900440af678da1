"""End-to-end runs of the workflow on variants of the tiny config, each in its own
temporary copy: the classifier on the training points too, every generator-refiner
pair, GAN baselines with two rounds of refinement, and a black box refined with
both pull-backs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from wf import (
    DATASETS,
    REPO,
    TINY,
    copy_workflow,
    snakemake,
)

from laser import io
from laser.blackbox import omnifold
from laser.models import refiners

pytestmark = pytest.mark.workflow


def test_the_classifier_trains_on_the_training_points_too_and_keeps_its_average(
    tmp_path: Path,
) -> None:
    """classifier.with_train and classifier.ema on the tiny config: the gaussians'
    classifier job takes data/train.npz as an input, trains on both data samples
    against as many generated points, and its checkpoint records the average."""
    work = copy_workflow(tmp_path)
    (work / "both.yaml").write_text(
        "datasets: [gaussians]\nclassifier: {with_train: true, ema: 0.9}\n"
    )
    target = "results/gaussians/classifier/model.pt"
    dry = snakemake(work, target, "-n", "--configfile", "tiny.yaml", "both.yaml")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "results/gaussians/data/train.npz" in _job_block(
        dry.stdout, "train_classifier"
    )
    res = snakemake(work, target, "--configfile", "tiny.yaml", "both.yaml")
    assert res.returncode == 0, res.stderr[-5000:]
    sizes = yaml.safe_load(TINY.read_text())["data"]
    n = sizes["n_classifier"] + sizes["n_train"]
    log = (work / "logs" / "train_classifier" / "gaussians.log").read_text()
    assert f"{n} data vs {n} generated" in log, log[-2000:]
    hp = io.load_checkpoint(work / target)["hparams"]
    assert hp["ema"] == 0.9


def _job_block(dry_run_output: str, rule: str) -> str:
    """The text of a dry run's job of `rule` (from its 'rule' line to the next)."""
    return dry_run_output.split(f"rule {rule}:")[1].split("\nrule ")[0]


def test_every_refiner_kind_runs_end_to_end(tmp_path: Path) -> None:
    """Table 2's refiners on the tiny config: tiny_refiners.yaml (a second config
    file) gives the gaussians the flow refiner and the rings the residual GAN, the
    double donut keeps the plain GAN; each log states its pair's caveat and the
    LaSeR samples follow the file contract. The gaussians' flow refiner draws are
    unweighted (refiner.unweight): its log reports the accept/reject step, and its
    stored y is the refiner's input of each kept z."""
    work = copy_workflow(tmp_path)
    shutil.copy(REPO / "tests" / "configs" / "tiny_refiners.yaml", work)
    targets = [f"results/{d}/laser/samples.npz" for d in DATASETS]
    # the targets before --configfile, which takes every name after it
    res = snakemake(
        work, *targets, "--configfile", "tiny.yaml", "tiny_refiners.yaml", timeout=1200
    )
    assert res.returncode == 0, res.stderr[-5000:]
    hp = {
        d: io.load_checkpoint(work / "results" / d / "laser" / "refiner.pt")["hparams"]
        for d in DATASETS
    }
    assert hp["gaussians"]["kind"] == "realnvp"
    assert hp["gaussians"]["n_blocks"] == 2  # refiner.flow of tiny.yaml
    assert hp["rings"]["kind"] == "gan" and hp["rings"]["residual"]
    assert hp["double_donut"]["kind"] == "gan"
    assert not hp["double_donut"]["residual"]
    for dataset, kind in [("gaussians", "flow"), ("rings", "gan")]:
        text = (work / "logs" / "train_refiner" / f"{dataset}.log").read_text()
        assert refiners.caveat("flow", kind) in text
    n = yaml.safe_load(TINY.read_text())["data"]["n_eval"]
    for dataset in DATASETS:
        with np.load(work / "results" / dataset / "laser" / "samples.npz") as f:
            assert f["z"].shape == f["x"].shape == (n, 2)
            assert np.isfinite(f["x"]).all()
    logs = {
        d: (work / "logs" / "sample_laser" / f"{d}.log").read_text() for d in DATASETS
    }
    assert "rejection: acceptance" in logs["gaussians"], logs["gaussians"][-2000:]
    assert "clipped_mass" in logs["gaussians"].split("unweighting diagnostics:")[1]
    assert "rejection: acceptance" not in logs["rings"]
    phi = io.load_model(work / "results/gaussians/laser/refiner.pt", refiners.build)
    with np.load(work / "results" / "gaussians" / "laser" / "samples.npz") as f:
        y = torch.as_tensor(f["y"][:100]).to(next(phi.parameters()).dtype)
        z = phi.generate(y).detach().numpy()
        assert np.allclose(z, f["z"][:100], atol=1e-3)


def test_gan_baselines_and_rounds_of_refinement_run_end_to_end(tmp_path: Path) -> None:
    """Table 2's GAN generator with both refiners, and two rounds of refinement:
    tiny_gan.yaml over tiny.yaml gives the gaussians a GAN baseline and the flow
    refiner, the double donut a GAN baseline and the GAN refiner, and
    refine.iterations 2. The whole workflow runs; the table has laser_2 after
    laser; round 2's refiner learns round 1's latent points y; each log states
    its pair's caveat; the weight diagnostics have no exact-weight columns (a GAN
    has no density)."""
    work = copy_workflow(tmp_path)
    shutil.copy(REPO / "tests" / "configs" / "tiny_gan.yaml", work)
    res = snakemake(work, "--configfile", "tiny.yaml", "tiny_gan.yaml", timeout=1800)
    assert res.returncode == 0, res.stderr[-5000:]
    results = work / "results"
    table = pd.read_csv(results / "table3.tsv", sep="\t")
    paper = table[table["convention"] == "paper"]
    expected = ["truth", "baseline", "hmc", "laser", "laser_2", "dctr"]
    expected += ["rejection", "langevin"]
    for dataset in ("gaussians", "double_donut"):
        rows = paper[paper["dataset"] == dataset]
        assert list(rows["method"]) == expected
        assert np.isfinite(rows[["emd", "jsd"]].to_numpy()).all()
    n = yaml.safe_load(TINY.read_text())["data"]["n_eval"]
    caveats = {"gaussians": ("gan", "flow"), "double_donut": ("gan", "gan")}
    for dataset, (generator, kind) in caveats.items():
        base = io.load_checkpoint(results / dataset / "baseline" / "model.pt")
        assert base["hparams"]["kind"] == "gan"
        latent = base["hparams"]["latent_dim"]
        for log in (
            work / "logs" / "train_refiner" / f"{dataset}.log",
            work / "logs" / "train_refiner_iterated" / f"{dataset}_2.log",
        ):
            assert refiners.caveat(generator, kind) in log.read_text()
        with (
            np.load(results / dataset / "laser" / "samples.npz") as first,
            np.load(results / dataset / "laser_2" / "weighted.npz") as weighted,
            np.load(results / dataset / "laser_2" / "samples.npz") as second,
        ):
            # round 2 weighs round 1's samples and trains on their latent y
            np.testing.assert_array_equal(weighted["z"], first["y"])
            np.testing.assert_array_equal(weighted["x"], first["x"])
            assert np.isfinite(weighted["w"]).all() and (weighted["w"] > 0).all()
            ys = first["y"].shape[1]
            assert first["z"].shape == second["z"].shape == (n, latent)
            assert second["x"].shape == (n, 2) and np.isfinite(second["x"]).all()
            assert second["y"].shape[1] == ys
        phi2 = io.load_checkpoint(results / dataset / "laser_2" / "refiner.pt")
        assert phi2["hparams"]["dim"] == ys  # it maps into phi_1's input space
        diag = pd.read_csv(results / dataset / "weights" / "diagnostics.tsv", sep="\t")
        assert diag[["ess_exact", "log_w_corr", "log_w_mad"]].isna().all(axis=None)
        assert 0 < diag["ess"].iloc[0] <= 1


def test_a_black_box_is_refined_with_both_pull_backs(tmp_path: Path) -> None:
    """The black box of tiny_blackbox.yaml (the tiny flow baseline followed by
    smearing of width 0 or 1, stochastic) with the direct and the OmniFold
    pull-backs: every black-box method is scored, OmniFold's diagnostics have one
    row per iteration, its weights and the refined box use the same latent points,
    and refining improves the box's EMD with either pull-back (seed 7: 0.298
    unrefined, 0.150 direct, 0.185 OmniFold, noise floor 0.014)."""
    work = copy_workflow(tmp_path)
    shutil.copy(REPO / "tests" / "configs" / "tiny_blackbox.yaml", work)
    res = snakemake(
        work, "--configfile", "tiny.yaml", "tiny_blackbox.yaml", timeout=1800
    )
    assert res.returncode == 0, res.stderr[-5000:]
    results = work / "results"
    table = pd.read_csv(results / "table3.tsv", sep="\t")
    paper = table[table["convention"] == "paper"].set_index("method")
    assert list(paper.index) == [
        "truth",
        "baseline",
        "dctr",
        "blackbox",
        "blackbox_dctr",
        "blackbox_laser_direct",
        "blackbox_omnifold",
        "blackbox_laser_omnifold",
    ]
    emd = paper["emd"]
    for method in ("blackbox_laser_direct", "blackbox_laser_omnifold"):
        assert emd[method] < 0.8 * emd["blackbox"], emd.to_dict()
    for method in ("blackbox_dctr", "blackbox_omnifold"):  # the weighted boxes
        assert emd[method] < 0.5 * emd["blackbox"], emd.to_dict()
    diag = pd.read_csv(
        results / "gaussians" / "blackbox_omnifold" / "diagnostics.tsv", sep="\t"
    )
    assert list(diag.columns) == ["dataset", *omnifold.TABLE_COLUMNS]
    assert list(diag["iteration"]) == [1, 2]
    with (
        np.load(results / "gaussians" / "blackbox" / "samples.npz") as box,
        np.load(results / "gaussians" / "blackbox_omnifold" / "samples.npz") as nu,
    ):
        np.testing.assert_array_equal(nu["z"], box["z"])
        np.testing.assert_array_equal(nu["x"], box["x"])
        assert np.isfinite(nu["log_w"]).all()
        assert abs(nu["w"].mean() - 1) < 0.2  # normalised on OmniFold's own points
    text = (
        work / "logs" / "train_refiner_blackbox" / "gaussians_omnifold.log"
    ).read_text()
    assert refiners.caveat("blackbox", "flow") in text
