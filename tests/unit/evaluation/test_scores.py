"""Tests of laser.evaluation.scores (scores beside the floor and Table 3) and
laser.evaluation.plots."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from laser import io, methods
from laser.evaluation import histograms, metrics, plots, topology
from laser.evaluation.scores import (
    BETTI,
    COLUMNS,
    PAPER_TABLE3,
    betti_of,
    score_methods,
    table3,
)

RANGE = [[-4.0, 4.0], [-4.0, 4.0]]
LATENT_RANGE = [[-3.0, 3.0], [-3.0, 3.0]]
BINS = 16
N = 20_000


def _normal(seed: int, n: int = N, dim: int = 2, mean=0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 1.0, (n, dim))


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    truth, test = _normal(0), _normal(1)
    samples = {
        "baseline": (truth, None),  # the truth itself
        "hmc": (truth + [0.7, 0.0], None),  # shifted
        "laser": (_normal(2), None),  # an independent truth sample
        "other": (truth + [0.0, 0.3], None),  # not in Table 3
    }
    latent = {"baseline": _normal(9), "laser": _two_blobs(10), "hmc": None}
    return score_methods(
        "gaussians",
        truth,
        test,
        samples,
        BINS,
        RANGE,
        latent=latent,
        latent_range=LATENT_RANGE,
    )


def _two_blobs(seed: int, n: int = N) -> np.ndarray:
    x = np.random.default_rng(seed).normal(0.0, 0.4, (n, 2))
    x[: n // 2, 0] += 1.5
    x[n // 2 :, 0] -= 1.5
    return x


def _rows(df: pd.DataFrame, method: str) -> pd.DataFrame:
    return df[df["method"] == method].set_index("convention")


def test_table_layout(table):
    assert list(table.columns) == COLUMNS
    assert list(table["method"]) == [
        m for m in ("truth", "baseline", "hmc", "laser", "other") for _ in (0, 1)
    ]
    assert list(table["convention"]) == list(histograms.CONVENTIONS) * 5
    assert set(table["dataset"]) == {"gaussians"}
    assert all(table[c].dtype == "Int64" for c in BETTI)


def test_truth_itself_scores_zero_and_a_shift_scores_more(table):
    base, hmc, laser = (
        _rows(table, "baseline"),
        _rows(table, "hmc"),
        _rows(table, "laser"),
    )
    for conv in histograms.CONVENTIONS:
        assert base.loc[conv, "emd"] == 0.0
        assert base.loc[conv, "jsd"] == 0.0
        assert hmc.loc[conv, "emd"] > 0 and hmc.loc[conv, "jsd"] > 0
        # a shift of 0.7 sigma is far above the noise floor of 20k points
        assert hmc.loc[conv, "emd"] > 5 * hmc.loc[conv, "floor_emd"]
        assert hmc.loc[conv, "jsd"] > 5 * hmc.loc[conv, "floor_jsd"]
        # an independent truth sample scores like the floor
        assert laser.loc[conv, "emd"] < 3 * laser.loc[conv, "floor_emd"]
    # in the normalised convention the EMD is in data units: about the shift
    assert hmc.loc["normalised", "emd"] == pytest.approx(0.7, rel=0.15)


def test_scores_are_the_metrics_of_the_histograms(table):
    truth = _normal(0)
    ref = histograms.histogram2d(truth, BINS, RANGE)
    expected = metrics.scores(
        ref, histograms.histogram2d(truth + [0.7, 0.0], BINS, RANGE), RANGE
    )
    hmc = _rows(table, "hmc")
    for conv in histograms.CONVENTIONS:
        assert hmc.loc[conv, "emd"] == pytest.approx(expected[conv]["emd"], rel=1e-12)
        assert hmc.loc[conv, "jsd"] == pytest.approx(expected[conv]["jsd"], rel=1e-12)


def test_truth_row_is_the_floor(table):
    truth = _rows(table, "truth")
    floor = metrics.scores(
        histograms.histogram2d(_normal(0), BINS, RANGE),
        histograms.histogram2d(_normal(1), BINS, RANGE),
        RANGE,
    )
    for conv in histograms.CONVENTIONS:
        assert truth.loc[conv, "emd"] == truth.loc[conv, "floor_emd"] > 0
        assert truth.loc[conv, "jsd"] == truth.loc[conv, "floor_jsd"] > 0
        assert truth.loc[conv, "emd"] == pytest.approx(floor[conv]["emd"], rel=1e-12)
        # every row carries the same floor
        rows = table[table["convention"] == conv]
        assert (rows["floor_emd"] == truth.loc[conv, "emd"]).all()
        assert (rows["floor_jsd"] == truth.loc[conv, "jsd"]).all()


def test_paper_columns_only_for_paper_convention_and_known_methods(table):
    for method in ("baseline", "hmc", "laser"):
        rows = _rows(table, method)
        emd, jsd = PAPER_TABLE3[("gaussians", method)]
        assert rows.loc["paper", "paper_emd"] == emd
        assert rows.loc["paper", "paper_jsd"] == jsd
        assert np.isnan(
            rows.loc["normalised", ["paper_emd", "paper_jsd"]].astype(float)
        ).all()
    for method in ("truth", "other"):
        values = _rows(table, method)[["paper_emd", "paper_jsd"]].to_numpy(float)
        assert np.isnan(values).all()
    assert PAPER_TABLE3[("rings", "laser")] == (0.047, 0.08)
    assert len(PAPER_TABLE3) == 12


def test_weights_are_used():
    """x ~ N((0.6, 0), I) weighted by N(x; 0, I) / N(x; (0.6, 0), I) is the truth."""
    truth, test = _normal(3), _normal(4)
    x = _normal(5, mean=[0.6, 0.0])
    w = np.exp(-0.6 * x[:, 0] + 0.18)
    df = score_methods(
        "rings", truth, test, {"dctr": (x, w), "baseline": (x, None)}, BINS, RANGE
    )
    dctr, base = _rows(df, "dctr"), _rows(df, "baseline")
    for conv in histograms.CONVENTIONS:
        assert dctr.loc[conv, "emd"] < 0.5 * base.loc[conv, "emd"]
        assert dctr.loc[conv, "jsd"] < 0.5 * base.loc[conv, "jsd"]
    assert dctr.loc["paper", "paper_emd"] == PAPER_TABLE3[("rings", "dctr")][0]


def test_dims_select_the_columns():
    truth, test = _normal(6, n=5000, dim=3), _normal(7, n=5000, dim=3)
    other = truth.copy()
    other[:, 1] += 2.0  # differs only in a column that is not histogrammed
    df = score_methods(
        "gaussians", truth, test, {"hmc": (other, None)}, BINS, RANGE, dims=(2, 0)
    )
    assert (_rows(df, "hmc")[["emd", "jsd"]].to_numpy() == 0).all()
    df = score_methods(
        "gaussians", truth, test, {"hmc": (other, None)}, BINS, RANGE, dims=(0, 1)
    )
    assert (_rows(df, "hmc")[["emd", "jsd"]].to_numpy() > 0).all()


def test_betti_numbers_in_data_and_latent_space(table):
    # every sample here is one blob in data space; the toy's true numbers beside
    assert (table["b0"] == 1).all() and (table["b1"] == 0).all()
    assert (table["true_b0"] == 4).all() and (table["true_b1"] == 0).all()
    latent = table.drop_duplicates("method").set_index("method")
    assert tuple(latent.loc["baseline", ["latent_b0", "latent_b1"]]) == (1, 0)
    assert tuple(latent.loc["laser", ["latent_b0", "latent_b1"]]) == (2, 0)
    # no latent sample (the truth, None, or not given): empty
    for method in ("truth", "hmc", "other"):
        assert latent.loc[method, ["latent_b0", "latent_b1"]].isna().all()
    # one threshold, measured on the two truth samples, on every row
    t = topology.threshold(_normal(0), _normal(1), BINS, RANGE)
    assert (table["betti_threshold"] == t).all() and t > 0
    laser = topology.betti(_two_blobs(10), BINS, LATENT_RANGE, t)
    assert laser == (2, 0)


def test_betti_numbers_use_weights_dims_and_unknown_datasets():
    rng = np.random.default_rng(11)
    truth, test = _two_blobs(12), _two_blobs(13)
    x = np.concatenate([_two_blobs(14), rng.normal(0, 1, (N, 1))], axis=1)  # (N, 3)
    w = np.where(x[:, 0] > 0, 1.0, 1e-9)  # removes one blob
    df = score_methods(
        "mine",
        truth[:, [1, 0]],
        test[:, [1, 0]],
        {"dctr": (x[:, [1, 0, 2]], w), "baseline": (x[:, [1, 0, 2]], None)},
        BINS,
        RANGE,
        dims=(1, 0),
        latent={"dctr": x[:, [0, 1]], "baseline": x[:, [0, 1]]},
        latent_range=LATENT_RANGE,
    )
    got = betti_of(df)
    assert got["truth"] == ((2, 0), None)
    assert got["baseline"] == ((2, 0), (2, 0))
    assert got["dctr"] == ((1, 0), (1, 0))  # weights apply in both spaces
    assert df[["true_b0", "true_b1"]].isna().all().all()  # not a toy


def test_betti_of_reads_a_written_table(table, tmp_path):
    io.save_table(table, tmp_path / "metrics.tsv")
    back = io.load_table(tmp_path / "metrics.tsv")
    assert list(back.columns) == COLUMNS
    got = betti_of(back)
    assert got == betti_of(table)
    assert got["truth"] == ((1, 0), None)
    assert got["laser"] == ((1, 0), (2, 0))
    assert got["hmc"] == ((1, 0), None)


def _fake(dataset: str, methods: list[str]) -> pd.DataFrame:
    rows = [
        {"dataset": dataset, "method": m, "convention": c, "emd": float(i), "jsd": 0.0}
        for i, (m, c) in enumerate(
            (m, c) for m in methods for c in reversed(histograms.CONVENTIONS)
        )
    ]
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def test_table3_order():
    a = _fake("rings", ["dctr", "zzz", "oracle", "truth", "hmc"])
    b = _fake(
        "gaussians", ["laser_10", "laser", "laser_2", "baseline", "truth", "dctr"]
    )
    out = table3([a, b])
    assert list(out.columns) == COLUMNS
    assert list(out.index) == list(range(len(a) + len(b)))
    keys = list(zip(out["convention"], out["dataset"], out["method"], strict=True))
    per_convention = [
        ("gaussians", "truth"),
        ("gaussians", "baseline"),
        ("gaussians", "laser"),
        ("gaussians", "laser_2"),  # the rounds of refinement follow laser
        ("gaussians", "laser_10"),
        ("gaussians", "dctr"),
        ("rings", "truth"),
        ("rings", "hmc"),
        ("rings", "dctr"),
        ("rings", "oracle"),
        ("rings", "zzz"),
    ]
    assert keys == [(c, *k) for c in ("paper", "normalised") for k in per_convention]
    # the rows themselves are unchanged, only reordered
    merged = pd.concat([a, b]).sort_values(["dataset", "method", "convention"])
    pd.testing.assert_frame_equal(
        out.sort_values(["dataset", "method", "convention"]).reset_index(drop=True),
        merged.reset_index(drop=True),
    )


# ------------------------------------------------------------------------ plots


def test_titles_and_labels():
    assert plots.title("rings") == "rings: true Betti numbers b0 = 3, b1 = 3"
    assert "double donut" in plots.title("double_donut")
    assert "b0 = 1, b1 = 2" in plots.title("double_donut")
    assert "b0 = 4, b1 = 0" in plots.title("gaussians")
    assert [methods.label(m) for m in ("truth", "laser", "dctr", "hmc", "new")] == [
        "Truth",
        "LaSeR",
        "DCTR",
        "HMC",
        "new",
    ]
    assert methods.label("laser_2") == "LaSeR (round 2)"


def test_figure_grid():
    rng = np.random.default_rng(8)
    x = rng.normal(0.0, 2.0, (3000, 2))
    z = rng.normal(size=(3000, 2))
    w = rng.uniform(0.5, 2.0, 3000)
    panels = [
        plots.Panel("truth", x),
        plots.Panel("baseline", x * 0.5, z),
        plots.Panel("dctr", x, z, w, betti=(3, 1), latent_betti=(2, 0)),
    ]
    x_range, z_range = [[-6.0, 6.0], [-5.0, 5.0]], [[-3.0, 3.0], [-3.0, 3.0]]
    fig = plots.figure_grid(
        panels, x_range, z_range, bins=12, title=plots.title("rings")
    )
    try:
        axes = np.array(fig.axes).reshape(2, 3)
        assert [ax.get_title() for ax in axes[0]] == [
            "Truth",
            "Baseline",
            "DCTR\nb0 = 3, b1 = 1",  # measured Betti numbers where given
        ]
        assert [ax.get_title() for ax in axes[1, 1:]] == ["", "b0 = 2, b1 = 0"]
        assert not axes[1, 0].axison  # the truth has no latent panel
        assert axes[1, 1].axison and axes[1, 2].axison
        assert axes[0, 0].get_ylabel() == "Feature space"
        assert axes[1, 1].get_ylabel() == "Latent space"
        assert fig._suptitle.get_text() == plots.title("rings")
        # each panel shows the density histogram of its (weighted) points
        expected, _, _ = np.histogram2d(
            x[:, 0], x[:, 1], bins=12, range=x_range, weights=w, density=True
        )
        mesh = axes[0, 2].collections[0]
        np.testing.assert_allclose(
            np.asarray(mesh.get_array()).reshape(12, 12), expected.T
        )
        truth_top = np.asarray(axes[0, 0].collections[0].get_array())
        cell = (12 / 12) * (10 / 12)
        assert truth_top.sum() * cell == pytest.approx(1.0)
        # common colour scale per row: 1.2 x the first panel's maximum
        for ax in axes[0]:
            norm = ax.collections[0].norm
            assert (norm.vmin, norm.vmax) == (0, pytest.approx(1.2 * truth_top.max()))
        latent = np.asarray(axes[1, 1].collections[0].get_array())
        assert axes[1, 2].collections[0].norm.vmax == pytest.approx(1.2 * latent.max())
    finally:
        plt.close(fig)
