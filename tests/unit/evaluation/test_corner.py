"""Figures for samples in D dimensions (laser.evaluation.corner)."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pytest

from laser.evaluation import corner

N = 2000


@pytest.fixture(autouse=True)
def no_figure_left_open() -> Iterator[None]:
    plt.close("all")
    yield
    plt.close("all")
    assert plt.get_fignums() == []


def _events(d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cov = 0.5 * np.eye(d) + 0.5
    return rng.multivariate_normal(np.full(d, shift), cov, N)  # (N, D)


def _weights(seed: int, negative: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 1.5, N)  # (N,)
    if negative:
        w[rng.random(N) < 0.1] = -0.5
    return w


def _problem(d: int, weighted: bool) -> dict:
    names = [f"feature {i}" for i in range(d)]
    ranges = [(-4.0, 4.0)] * d
    truth = _events(d, 0)
    clipped = _events(d, 2)
    clipped = clipped[clipped[:, 0] < 1.0]  # misses part of the truth's range
    samples = {
        "baseline": (_events(d, 1, shift=0.3), None),
        "laser": (
            clipped,
            _weights(3, negative=False)[: len(clipped)] if weighted else None,
        ),
        "dctr": (_events(d, 4), _weights(5) if weighted else None),
    }
    return dict(
        truth=truth,
        truth_weights=_weights(6) if weighted else None,
        samples=samples,
        names=names,
        ranges=ranges,
    )


def _visible_axes(fig: plt.Figure) -> list[plt.Axes]:
    return [ax for ax in fig.axes if ax.get_visible() and ax.axison]


def _truth_step(ax: plt.Axes):
    (step,) = [p for p in ax.patches if p.get_gid() == "truth"]
    return step.get_data()


# -------------------------------------------------------------- the pure helpers
def test_normalised_histogram_integrates_to_one_with_its_uncertainty() -> None:
    x = np.array([0.1, 0.2, 0.6, 0.7, 0.8, 2.0])  # the last is out of range
    h, err, edges = corner.normalised_histogram(x, None, 2, (0.0, 1.0))
    np.testing.assert_allclose(edges, [0.0, 0.5, 1.0])
    # 5 events in range, widths 0.5: 2 / 2.5 and 3 / 2.5
    np.testing.assert_allclose(h, [0.8, 1.2])
    np.testing.assert_allclose(err, [np.sqrt(2) / 2.5, np.sqrt(3) / 2.5])
    assert h @ np.diff(edges) == pytest.approx(1.0)


def test_normalised_histogram_with_negative_weights() -> None:
    x = np.array([0.1, 0.2, 0.6, 0.7])
    w = np.array([1.0, -2.0, 3.0, 1.0])  # net -1 in the first bin, total 3
    h, err, edges = corner.normalised_histogram(x, w, 2, (0.0, 1.0))
    np.testing.assert_allclose(h, [-1 / 1.5, 4 / 1.5])
    np.testing.assert_allclose(err, [np.sqrt(5) / 1.5, np.sqrt(10) / 1.5])
    assert h @ np.diff(edges) == pytest.approx(1.0)
    # scale free in the weights
    h2, err2, _ = corner.normalised_histogram(x, 7 * w, 2, (0.0, 1.0))
    np.testing.assert_allclose(h2, h)
    np.testing.assert_allclose(err2, err)


def test_normalised_histogram_without_positive_total_is_zero() -> None:
    h, err, _ = corner.normalised_histogram(np.array([5.0]), None, 3, (0.0, 1.0))
    assert h.tolist() == [0.0] * 3 and err.tolist() == [0.0] * 3
    x, w = np.array([0.1, 0.2]), np.array([1.0, -2.0])
    assert not corner.normalised_histogram(x, w, 3, (0.0, 1.0))[0].any()
    with pytest.raises(ValueError, match="weights"):
        corner.normalised_histogram(x, np.ones(3), 3, (0.0, 1.0))


def test_contour_levels_enclose_the_mass() -> None:
    density = np.random.default_rng(0).exponential(size=(30, 30))
    levels = corner.contour_levels(density)
    assert np.all(np.diff(levels) > 0) and len(levels) == 3
    total = density.sum()
    for level, fraction in zip(levels[::-1], corner.MASS_FRACTIONS, strict=True):
        inside = density[density >= level].sum() / total
        # the smallest region that reaches the fraction: at least the fraction,
        # less than it without its last (lowest) bin
        assert fraction <= inside < fraction + level / total
    assert corner.contour_levels(np.zeros((4, 4))).size == 0
    assert corner.contour_levels(-np.ones((4, 4))).size == 0


# ------------------------------------------------------------------ the figures
@pytest.mark.parametrize("d", [1, 3, 8])
@pytest.mark.parametrize("weighted", [False, True])
def test_marginals_figure(d: int, weighted: bool, tmp_path) -> None:
    p = _problem(d, weighted)
    fig = corner.marginals_figure(
        p["truth"], p["samples"], p["names"], p["ranges"], bins=30,
        truth_weights=p["truth_weights"], log_scale=d == 3,
    )  # fmt: skip
    axes = _visible_axes(fig)
    assert len(axes) == 2 * d
    assert len(fig.legends) == 1
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["Truth", "Baseline", "LaSeR", "DCTR"]
    main = axes[0::2]
    assert [ax.get_xlabel() for ax in axes[1::2]] == p["names"]
    for ax in main:
        values, edges, _ = _truth_step(ax)
        assert len(values) == 30
        assert values @ np.diff(edges) == pytest.approx(1.0)
        assert {q.get_gid() for q in ax.patches} >= {"truth", *p["samples"]}
    for ax in axes[1::2]:
        assert ax.get_ylim() == pytest.approx(corner.RATIO_RANGE)
    # the LaSeR sample misses x0 > 1: its ratio sits at the lower edge, marked
    first_ratio = axes[1]
    edge_marks = [
        line for line in first_ratio.lines
        if line.get_marker() == "v" and np.all(line.get_ydata() == 0.5)
    ]  # fmt: skip
    assert edge_marks and max(np.max(m.get_xdata()) for m in edge_marks) > 2.0
    fig.savefig(tmp_path / "marginals.png", dpi=40)
    assert (tmp_path / "marginals.png").stat().st_size > 0
    plt.close(fig)


def test_marginals_grid_has_at_most_four_columns() -> None:
    p = _problem(8, False)
    fig = corner.marginals_figure(p["truth"], {}, p["names"], p["ranges"], bins=10)
    columns = {round(ax.get_position().x0, 3) for ax in _visible_axes(fig)}
    assert len(columns) == 4
    assert len(fig.axes) == 16
    plt.close(fig)


@pytest.mark.parametrize("d", [1, 3, 8])
@pytest.mark.parametrize("weighted", [False, True])
def test_corner_figure(d: int, weighted: bool, tmp_path) -> None:
    p = _problem(d, weighted)
    sample, w = p["samples"]["laser"]  # misses part of the truth's range
    fig = corner.corner_figure(
        p["truth"], sample, p["names"], p["ranges"], bins=20,
        truth_weights=p["truth_weights"], weights=w, method="laser",
    )  # fmt: skip
    axes = _visible_axes(fig)
    assert len(axes) == d * (d + 1) // 2
    diagonal = [ax for ax in axes if any(q.get_gid() == "truth" for q in ax.patches)]
    assert len(diagonal) == d
    for ax in diagonal:
        values, edges, _ = _truth_step(ax)
        assert values @ np.diff(edges) == pytest.approx(1.0)
    if d > 1:
        pairs = [ax for ax in axes if ax not in diagonal]
        assert all(ax.collections for ax in pairs)  # the contours
        assert pairs[0].get_ylabel() == p["names"][1]
    fig.savefig(tmp_path / "corner.png", dpi=40)
    assert (tmp_path / "corner.png").stat().st_size > 0
    plt.close(fig)


def test_corner_figure_shows_at_most_eight_features_unless_chosen() -> None:
    d = 10
    p = _problem(d, False)
    kw = dict(names=p["names"], ranges=p["ranges"], bins=8, smooth=0.0)
    fig = corner.corner_figure(p["truth"], p["truth"], **kw)
    assert len(fig.axes) == 8 * 9 // 2
    fig = corner.corner_figure(p["truth"], p["truth"], features=[9, 2], **kw)
    assert len(fig.axes) == 3
    assert [ax.get_xlabel() for ax in fig.axes[-2:]] == ["feature 9", "feature 2"]
    with pytest.raises(ValueError, match="features"):
        corner.corner_figure(p["truth"], p["truth"], features=[10], **kw)
    plt.close("all")
