"""End-to-end runs of the workflow on datasets of events read from files: every
format, D = 3 and D = 5, event weights, feature transforms, the user's own
generator, samples without a latent space, and bad input stopped before any job."""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
import uproot
import yaml
from wf import copy_workflow, snakemake

from laser import io

pytestmark = pytest.mark.workflow

N_EVENTS = 9000  # 3000 + 3000 + 2 x 1500 drawn from one file
SIZES = {"n_train": 3000, "n_classifier": 3000, "n_eval": 1500}
METHODS = ["baseline", "hmc", "laser", "dctr"]
METRICS = ["w1", "jsd", "emd2d", "jsd2d", "fpd", "kpd", "auc"]

# a user's generator module, as a scientist would write it
OWN_GENERATOR = '''
import torch
from torch import nn


class Smeared(nn.Module):
    """x = A z + b on 3 features, the first made positive."""

    def __init__(self, latent_dim=3):
        super().__init__()
        self.latent_dim = latent_dim
        self.linear = nn.Linear(latent_dim, 3)

    def generate(self, z):
        x = self.linear(z)
        return torch.cat([x[:, :1].exp(), x[:, 1:]], 1)


def make(latent_dim=3):
    return Smeared(latent_dim)
'''


def events(d: int, n: int, seed: int) -> pd.DataFrame:
    """n events of D features: a positive one (gamma), one in (0, 1) (beta), a
    bimodal one that a tiny flow cannot fit, correlated Gaussians; a weight."""
    rng = np.random.default_rng(seed)
    cols = {
        "e": rng.gamma(2.0, 1.0, n),
        "frac": rng.beta(2.0, 5.0, n),
        "mode": rng.choice([-3.0, 3.0], n) + rng.normal(0, 0.4, n),
    }
    for k in range(3, d):
        cols[f"f{k}"] = rng.normal(0, 1, n) + 0.5 * cols["mode"]
    cols["weight"] = rng.uniform(0.5, 1.5, n)
    return pd.DataFrame(cols)


def write(df: pd.DataFrame, path: Path, fmt: str) -> None:
    """Write the events in format `fmt` (HDF5 and ROOT under the key 'events')."""
    if fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "tsv":
        df.to_csv(path, sep="\t", index=False)
    elif fmt == "parquet":
        df.to_parquet(path)
    elif fmt == "npz":
        np.savez(path, **{c: df[c].to_numpy() for c in df})
    elif fmt == "hdf5":
        with h5py.File(path, "w") as f:
            group = f.create_group("events")
            for c in df:
                group[c] = df[c].to_numpy()
    elif fmt == "root":
        with uproot.recreate(path) as f:
            f["events"] = {c: df[c].to_numpy() for c in df}


SUFFIX = {
    "csv": "csv",
    "tsv": "tsv",
    "parquet": "parquet",
    "npz": "npz",
    "hdf5": "h5",
    "root": "root",
}
# (name, D, weighted, the format of each sample's file): every format, at D = 3
# and D = 5, one file per sample (files:), read with the same key
CASES = [
    ("mixed3", 3, True, ("csv", "parquet", "hdf5", "root")),
    ("mixed5", 5, False, ("npz", "tsv", "root", "hdf5")),
]
ROLES = ("train", "classifier", "truth", "truth_test")
N_ROLE = {"train": 3000, "classifier": 3000, "truth": 1500, "truth_test": 1500}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run over datasets read from every format, the user's generator and
    samples without a latent space."""
    work = copy_workflow(tmp_path_factory.mktemp("events"))
    datasets, entries = [], {}
    for i, (name, d, weighted, formats) in enumerate(CASES):
        paths = {}
        for j, (role, fmt) in enumerate(zip(ROLES, formats, strict=True)):
            df = events(d, N_ROLE[role], seed=10 * i + j)
            paths[role] = f"{name}_{role}.{SUFFIX[fmt]}"
            write(df, work / paths[role], fmt)
        entries[name] = {
            "files": paths,
            "key": "events",
            "features": [c for c in df.columns if c != "weight"],
            "transforms": {"e": "log", "frac": {"logit": [0.0, 1.0]}},
            **({"weight": "weight"} if weighted else {}),
        }
        datasets.append(name)
    # the user's own generator, and samples of a generator without latent space
    (work / "owngen.py").write_text(OWN_GENERATOR)
    df = events(3, N_EVENTS, seed=10)
    df.to_csv(work / "own.csv", index=False)
    ns: dict = {}
    exec(compile(OWN_GENERATOR, "owngen", "exec"), ns)
    torch.manual_seed(0)
    torch.save(ns["make"]().state_dict(), work / "owngen.pt")
    with torch.no_grad():
        x = ns["make"]().generate(torch.randn(5000, 3)).numpy()
    pd.DataFrame(x, columns=["e", "frac", "mode"]).to_parquet(work / "gen.parquet")
    entries["own"] = {
        "path": "own.csv",
        "features": ["e", "frac", "mode"],
        "generator": {"factory": "owngen:make", "checkpoint": "owngen.pt"},
    }
    entries["samples"] = {
        "path": "own.csv",
        "features": ["e", "frac", "mode"],
        "generated": "gen.parquet",
    }
    datasets += ["own", "samples"]
    config = {
        "datasets": datasets,
        "methods": METHODS,
        "data": SIZES,
        "events": entries,
        "evaluate": {"events": {"twosample": {"n_max": 1500, "epochs": 10}}},
    }
    (work / "events.yaml").write_text(yaml.safe_dump(config))
    res = snakemake(work, "--configfile", "tiny.yaml", "events.yaml", timeout=3000)
    (work / "snakemake.log").write_text(res.stdout + res.stderr)
    assert res.returncode == 0, res.stderr[-5000:]
    return work


def test_every_format_and_dimension_is_scored(run: Path) -> None:
    """The table has every method and metric for every dataset, finite, and the
    noise floor lies below the baseline's score on every metric."""
    table = io.load_table(run / "results" / "scores.tsv")
    for name, d, _, _ in CASES:
        rows = table[table["dataset"] == name]
        assert set(rows["method"]) == {"truth", *METHODS}, name
        assert set(rows["metric"]) == set(METRICS), name
        assert np.isfinite(rows["value"]).all() and np.isfinite(rows["floor"]).all()
        pairs = rows[(rows["method"] == "baseline") & (rows["metric"] == "emd2d")]
        assert int(pairs["n_features"].iloc[0]) == math.comb(d, 2)
        base = rows[rows["method"] == "baseline"].set_index("metric")
        for metric in METRICS:
            assert base.at[metric, "floor"] < base.at[metric, "value"], (name, metric)
        per_feature = io.load_table(run / "results" / name / "scores.tsv")
        assert set(per_feature["feature"]) >= {"e", "frac", "mode", "all"}


def test_samples_are_in_data_units_and_weights_reach_the_training(run: Path) -> None:
    """Every method's samples lie in the transforms' domains (log: > 0, logit:
    inside (0, 1)); a weighted dataset's training files carry the weights."""
    for name, d, weighted, _ in CASES:
        for m in METHODS:
            x = io.load_samples(run / "results" / name / m / "samples.npz")["x"]
            assert x.shape[1] == d
            assert (x[:, 0] > 0).all() and ((x[:, 1] > 0) & (x[:, 1] < 1)).all(), m
        train = io.load_samples(run / "results" / name / "data" / "train.npz")
        assert ("w" in train) == weighted
        assert len(train["x"]) == SIZES["n_train"]


def test_the_user_generator_and_samples_only(run: Path) -> None:
    """The user's generator is the baseline (its latent space refined); samples
    without latent space get the baseline and DCTR only."""
    table = io.load_table(run / "results" / "scores.tsv")
    own = table[table["dataset"] == "own"]
    assert set(own["method"]) == {"truth", *METHODS}
    hmc = io.load_samples(run / "results" / "own" / "hmc" / "samples.npz")
    assert hmc["z"].shape[1] == 3
    samples = table[table["dataset"] == "samples"]
    assert set(samples["method"]) == {"truth", "baseline", "dctr"}
    log = (run / "snakemake.log").read_text()
    assert "latent refinement" in log and "needs a generator with its latent" in log


def test_figures_and_report(run: Path) -> None:
    """A marginals figure per dataset, a corner figure per method, and the
    summary page with the D-dimensional table."""
    for name, _, _, _ in CASES:
        assert (run / "results" / name / "marginals.png").stat().st_size > 10_000
        for m in METHODS:
            assert (run / "results" / name / "corner" / f"{m}.png").is_file()
    page = (run / "results" / "summary.html").read_text()
    assert "Datasets of events" in page and "fpd" in page


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda df: df.assign(e=df["e"].where(df.index != 17, np.nan)), "row 17"),
        (lambda df: df.assign(e=df["e"].where(df.index != 5, -1.0)), "log needs"),
        (lambda df: df.drop(columns=["frac"]), "no column(s) ['frac']"),
        (lambda df: df.assign(mode=1.0), "feature 'mode' is constant"),
        (lambda df: df.head(100), "fewer than the"),
    ],
)
def test_bad_input_stops_before_any_job(tmp_path: Path, edit, message) -> None:
    """Bad data fail the first job with a message naming the file and the
    problem; no later job starts and no data file is left."""
    work = copy_workflow(tmp_path)
    edit(events(3, N_EVENTS, seed=0)).to_csv(work / "bad.csv", index=False)
    config = {
        "datasets": ["bad"],
        "methods": METHODS,
        "data": SIZES,
        "events": {
            "bad": {
                "path": "bad.csv",
                "features": ["e", "frac", "mode"],
                "transforms": {"e": "log"},
            }
        },
    }
    (work / "bad.yaml").write_text(yaml.safe_dump(config))
    res = snakemake(work, "--configfile", "tiny.yaml", "bad.yaml", timeout=600)
    assert res.returncode != 0
    log = (work / "logs" / "generate_data" / "bad.log").read_text()
    assert "bad.csv" in log and message in log, log[-2000:]
    assert not (work / "results" / "bad" / "data").exists() or not any(
        (work / "results" / "bad" / "data").iterdir()
    )
    assert not (work / "results" / "bad" / "baseline").exists()


def test_the_pythia_rule_on_a_few_events(tmp_path: Path) -> None:
    """Rule generate_events runs Pythia 8 for a dataset declared with `pythia`
    and generate_data splits its events: the Z-pole example on 600 events."""
    pytest.importorskip("pythia8mc")
    work = copy_workflow(tmp_path)
    zpole = yaml.safe_load((work / "config" / "zpole.yaml").read_text())
    zpole["events"]["zpole"]["pythia"]["n_events"] = 600
    zpole["data"] = {"n_train": 200, "n_classifier": 200, "n_eval": 100}
    (work / "zpole.yaml").write_text(yaml.safe_dump(zpole))
    target = "results/zpole/data/truth_test.npz"
    res = snakemake(work, target, "--configfile", "tiny.yaml", "zpole.yaml")
    assert res.returncode == 0, res.stderr[-3000:]
    events = pd.read_parquet(work / "results" / "zpole" / "data" / "pythia.parquet")
    features = zpole["events"]["zpole"]["features"]
    assert len(events) == 600 and set(features) <= set(events.columns)
    assert 0.02 < events["one_minus_thrust"].mean() < 0.12
    for role, n in [("train", 200), ("classifier", 200), ("truth", 100)]:
        x = io.load_samples(work / "results" / "zpole" / "data" / f"{role}.npz")["x"]
        assert x.shape == (n, len(features)) and (x > 0).all()
