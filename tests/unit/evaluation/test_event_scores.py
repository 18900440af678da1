"""Tests of laser.evaluation.events: the long score table of D-dim events."""

import numpy as np
import pandas as pd
import pytest

from laser.evaluation import events
from laser.evaluation.events import COLUMNS, score_events, summarise

FAST = {
    "twosample": {
        "hidden_layers": 2,
        "hidden_units": 16,
        "epochs": 10,
        "batch_size": 128,
    },
    "fpd_kpd": {
        "fpd": {"min_samples": 300, "max_samples": 1000, "num_batches": 3},
        "kpd": {"batch_size": 300, "num_batches": 5},
    },
}


def _table(dim: int, pairs=None, weights: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(dim)
    n = 3000
    truth, truth_test = rng.normal(size=(n, dim)), rng.normal(size=(n, dim))
    good = rng.normal(size=(n, dim))
    shifted = rng.normal(size=(n, dim)) + 0.7
    w = rng.uniform(0.5, 1.5, n) if weights else None
    return score_events(
        "toy",
        truth,
        truth_test,
        {"good": (good, w), "shifted": (shifted, None)},
        names=[f"x{k}" for k in range(dim)],
        pairs=pairs,
        bins=12,
        ranges=None,
        seed=0,
        truth_weights=w,
        **FAST,
    )


@pytest.mark.parametrize(
    ("dim", "pairs", "n_pairs"), [(1, None, 0), (3, None, 3), (8, [(0, 1), (2, 7)], 2)]
)
def test_table(dim, pairs, n_pairs):
    df = _table(dim, pairs)
    assert list(df.columns) == list(COLUMNS)
    assert df["method"].iloc[0] == "truth"
    assert list(df["method"].unique()) == ["truth", "good", "shifted"]
    expected = {"w1": dim, "jsd": dim, "fpd": 1, "kpd": 1, "auc": 1}
    if n_pairs:
        expected |= {"emd2d": n_pairs, "jsd2d": n_pairs}
    for _, part in df.groupby("method"):
        assert part["metric"].value_counts().to_dict() == expected
    assert np.all(np.isfinite(df[["value", "floor"]].to_numpy()))
    truth_rows = df[df["method"] == "truth"]
    np.testing.assert_array_equal(truth_rows["value"], truth_rows["floor"])
    has_err = df["metric"].isin(["fpd", "kpd", "auc"])
    assert np.all(np.isfinite(df.loc[has_err, ["error", "floor_error"]].to_numpy()))
    assert df.loc[~has_err, "error"].isna().all()
    shifted = df[df["method"] == "shifted"]
    assert np.all(shifted["value"] > shifted["floor"])
    if n_pairs:
        assert "x0|x1" in set(df["feature"])
    head = summarise(df)
    assert list(head.columns) == [
        "dataset",
        "method",
        "metric",
        "value",
        "floor",
        "n_features",
    ]
    assert len(head) == 3 * len(expected)
    row = head[(head["method"] == "shifted") & (head["metric"] == "w1")].iloc[0]
    assert row["value"] == pytest.approx(
        shifted[shifted["metric"] == "w1"]["value"].mean()
    )
    assert row["n_features"] == dim


def test_weighted_table():
    df = _table(2, weights=True)
    assert np.all(np.isfinite(df["value"]))


def test_defaults():
    assert events.default_pairs(3) == [(0, 1), (0, 2), (1, 2)]
    assert events.default_pairs(7) == []
    x = np.random.default_rng(0).uniform(0, 1, size=(100_000, 2))
    x[:, 1] = 2.0
    (lo, hi), (lo1, hi1) = events.default_ranges(x)
    assert lo == pytest.approx(-0.05, abs=0.003) and hi == pytest.approx(
        1.05, abs=0.003
    )
    assert (lo1, hi1) == (1.5, 2.5)


def test_negative_bins_name_method_and_feature():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(500, 1))
    w = np.ones(500)
    w[x[:, 0] > 1] = -5.0
    with pytest.raises(ValueError, match=r"bad, feature 'a'.*negative"):
        score_events(
            "toy",
            x,
            x,
            {"bad": (x, w)},
            names=["a"],
            pairs=None,
            bins=10,
            ranges=None,
            seed=0,
            **FAST,
        )


def test_reserved_name_and_bad_names():
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="reserved"):
        score_events(
            "t",
            x,
            x,
            {"truth": (x, None)},
            names=["a", "b"],
            pairs=None,
            bins=4,
            ranges=None,
            seed=0,
        )
    with pytest.raises(ValueError, match="names"):
        score_events(
            "t", x, x, {}, names=["a"], pairs=None, bins=4, ranges=None, seed=0
        )
