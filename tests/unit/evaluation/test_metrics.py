"""Tests of laser.evaluation.metrics: histograms, JSD and EMD of paper Sec. 4.2."""

import logging
import math
import re

import numpy as np
import ot
import pytest

from laser.evaluation import histograms, metrics, multiscale, simplex
from laser.evaluation.histograms import (
    CONVENTIONS,
    as_convention,
    bin_centres,
    ground_cost,
    histogram2d,
)
from laser.evaluation.metrics import jsd, scores
from laser.evaluation.transport import emd, emd_dense

RANGE = [[-3.0, 3.0], [-2.0, 4.0]]


def _sample(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "gauss":
        return rng.normal(size=(n, 2))
    if kind == "shifted":
        return rng.normal(size=(n, 2)) * [1.3, 0.8] + [0.4, 0.7]
    if kind == "ring":
        r = rng.normal(2.0, 0.4, size=n)
        phi = rng.uniform(0, 2 * np.pi, size=n)
        return np.stack([r * np.cos(phi), 1.0 + r * np.sin(phi)], axis=1)
    if kind == "uniform":
        return rng.uniform([-3, -2], [3, 4], size=(n, 2))
    raise AssertionError(kind)


def _bin_area(bins: int, rng_: list[list[float]]) -> float:
    return (rng_[0][1] - rng_[0][0]) / bins * (rng_[1][1] - rng_[1][0]) / bins


# ------------------------------------------------------------------ histograms


def test_histogram2d_matches_numpy_and_drops_outside():
    rng = np.random.default_rng(0)
    x = rng.normal(scale=2.0, size=(5000, 2))
    w = rng.uniform(0.5, 2.0, size=5000)
    counts = histogram2d(x, 12, RANGE, weights=w)
    ref, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=12, range=RANGE, weights=w)
    assert counts.shape == (12, 12)
    assert counts.dtype == np.float64
    np.testing.assert_array_equal(counts, ref)
    inside = (x[:, 0] >= -3) & (x[:, 0] <= 3) & (x[:, 1] >= -2) & (x[:, 1] <= 4)
    assert inside.sum() < len(x)  # some points are dropped
    assert counts.sum() == pytest.approx(w[inside].sum(), rel=1e-12)
    unweighted = histogram2d(x, 12, RANGE)
    assert unweighted.sum() == inside.sum()


def test_histogram2d_axis_order_matches_bin_centres():
    # A point in a known bin lands at the row of bin_centres closest to it.
    pt = np.array([[2.2, -1.4]])
    counts = histogram2d(pt, 6, RANGE)
    k = int(np.argmax(counts.ravel()))
    centres = bin_centres(6, RANGE)
    assert k == int(np.argmin(np.linalg.norm(centres - pt, axis=1)))
    np.testing.assert_allclose(centres[k], [2.5, -1.5])


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_as_convention_normalisation(conv):
    rng = np.random.default_rng(1)
    x = _sample("ring", 4000, rng)
    w = rng.uniform(0.1, 1.0, size=len(x))
    counts = histogram2d(x, 15, RANGE, weights=w)
    h = as_convention(counts, RANGE, conv)
    if conv == "paper":
        ref, _, _ = np.histogram2d(
            x[:, 0], x[:, 1], bins=15, range=RANGE, density=True, weights=w
        )
        np.testing.assert_allclose(h, ref, rtol=1e-12, atol=0)
        assert h.sum() == pytest.approx(1 / _bin_area(15, RANGE), rel=1e-12)
    else:
        assert h.sum() == pytest.approx(1.0, rel=1e-12)
        np.testing.assert_allclose(h, counts / counts.sum(), rtol=1e-12)


def test_bin_centres_layout():
    c = bin_centres(4, [[0, 4], [10, 12]])
    assert c.shape == (16, 2)
    np.testing.assert_allclose(c[0], [0.5, 10.25])
    np.testing.assert_allclose(c[1], [0.5, 10.75])  # second axis varies fastest
    np.testing.assert_allclose(c[4], [1.5, 10.25])
    np.testing.assert_allclose(c[-1], [3.5, 11.75])


def test_ground_cost():
    bins, rng_ = 5, [[0, 5], [0, 10]]
    c = bin_centres(bins, rng_)
    m_norm = ground_cost(bins, rng_, "normalised")
    m_paper = ground_cost(bins, rng_, "paper")
    assert m_norm.shape == (25, 25)
    np.testing.assert_allclose(
        m_norm, np.linalg.norm(c[:, None] - c[None], axis=-1), atol=1e-12
    )
    assert m_paper.max() == pytest.approx(1.0)
    diag = math.hypot(4.0, 8.0)  # between the corner centres
    assert m_norm.max() == pytest.approx(diag)
    np.testing.assert_allclose(m_paper, m_norm / diag, atol=1e-12)


# ------------------------------------------------------------------------ JSD


def test_jsd_identical_is_zero_and_symmetric():
    rng = np.random.default_rng(2)
    a = histogram2d(_sample("gauss", 3000, rng), 10, RANGE)
    b = histogram2d(_sample("ring", 3000, rng), 10, RANGE)
    for conv in CONVENTIONS:
        p, q = as_convention(a, RANGE, conv), as_convention(b, RANGE, conv)
        assert jsd(p, p) == 0.0
        assert jsd(p, q) > 0
        assert jsd(p, q) == pytest.approx(jsd(q, p), rel=1e-12)


def test_jsd_disjoint_supports_is_ln2():
    p = np.array([[0.4, 0.6], [0.0, 0.0]])
    q = np.array([[0.0, 0.0], [0.5, 0.5]])
    assert jsd(p, q) == pytest.approx(math.log(2), rel=1e-12)
    # Bounded by ln 2 in the normalised convention.
    rng = np.random.default_rng(3)
    a = histogram2d(_sample("gauss", 2000, rng), 10, RANGE)
    b = histogram2d(_sample("uniform", 2000, rng), 10, RANGE)
    val = jsd(
        as_convention(a, RANGE, "normalised"), as_convention(b, RANGE, "normalised")
    )
    assert 0 < val < math.log(2)


def test_jsd_hand_computation():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.25, 0.5])
    # m = (0.375, 0.375, 0.25)
    expected = 0.5 * (2 * 0.5 * math.log(0.5 / 0.375)) + 0.5 * (
        2 * 0.25 * math.log(0.25 / 0.375) + 0.5 * math.log(0.5 / 0.25)
    )
    assert jsd(p, q) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.2157615543388357, rel=1e-12)


def test_jsd_paper_is_normalised_over_bin_area():
    # JSD is linear under a common rescaling of p and q.
    rng = np.random.default_rng(4)
    a = histogram2d(_sample("gauss", 3000, rng), 8, RANGE)
    b = histogram2d(_sample("shifted", 3000, rng), 8, RANGE)
    j_norm = jsd(
        as_convention(a, RANGE, "normalised"), as_convention(b, RANGE, "normalised")
    )
    j_paper = jsd(as_convention(a, RANGE, "paper"), as_convention(b, RANGE, "paper"))
    assert j_paper == pytest.approx(j_norm / _bin_area(8, RANGE), rel=1e-12)


# ------------------------------------------------------------------------ EMD


CASES = [
    (10, "gauss", "shifted", 0),
    (10, "ring", "uniform", 1),
    (20, "gauss", "ring", 2),
    (20, "shifted", "uniform", 3),
    (20, "gauss", "gauss", 4),  # same distribution, independent samples
]


@pytest.mark.parametrize("conv", CONVENTIONS)
@pytest.mark.parametrize(("bins", "kind_a", "kind_b", "seed"), CASES)
def test_emd_fast_equals_dense(bins, kind_a, kind_b, seed, conv):
    rng = np.random.default_rng(seed)
    a = histogram2d(_sample(kind_a, 3000, rng), bins, RANGE)
    b = histogram2d(_sample(kind_b, 2000, rng), bins, RANGE)
    p, q = as_convention(a, RANGE, conv), as_convention(b, RANGE, conv)
    fast = emd(p, q, bins, RANGE, conv)
    dense = emd_dense(p, q, bins, RANGE, conv)
    assert dense > 0
    assert fast == pytest.approx(dense, rel=1e-6)
    assert emd(q, p, bins, RANGE, conv) == pytest.approx(fast, rel=1e-6)
    # flattened input is accepted too
    assert emd(p.ravel(), q.ravel(), bins, RANGE, conv) == pytest.approx(
        fast, rel=1e-12
    )


def test_emd_paper_is_normalised_rescaled():
    bins = 10
    rng = np.random.default_rng(5)
    a = histogram2d(_sample("gauss", 3000, rng), bins, RANGE)
    b = histogram2d(_sample("ring", 3000, rng), bins, RANGE)
    e_norm = emd(
        as_convention(a, RANGE, "normalised"),
        as_convention(b, RANGE, "normalised"),
        bins,
        RANGE,
        "normalised",
    )
    e_paper = emd(
        as_convention(a, RANGE, "paper"),
        as_convention(b, RANGE, "paper"),
        bins,
        RANGE,
        "paper",
    )
    diag = float(ground_cost(bins, RANGE, "normalised").max())
    assert e_paper == pytest.approx(e_norm / diag / _bin_area(bins, RANGE), rel=1e-9)


def test_emd_point_mass_moved():
    bins, rng_ = 10, [[0.0, 10.0], [0.0, 5.0]]  # bin size 1 x 0.5
    start = histogram2d(np.array([[0.5, 0.25]]), bins, rng_)  # bin (0, 0)
    end = histogram2d(np.array([[3.5, 4.25]]), bins, rng_)  # bin (3, 8)
    dist = math.hypot(3.0, 4.0)
    p, q = (
        as_convention(start, rng_, "normalised"),
        as_convention(end, rng_, "normalised"),
    )
    assert emd(p, q, bins, rng_, "normalised") == pytest.approx(dist, rel=1e-12)
    p, q = as_convention(start, rng_, "paper"), as_convention(end, rng_, "paper")
    max_dist = math.hypot(9.0, 4.5)  # corner centres (0.5, 0.25) and (9.5, 4.75)
    expected = dist / max_dist / (1.0 * 0.5)
    assert emd(p, q, bins, rng_, "paper") == pytest.approx(expected, rel=1e-12)
    assert emd_dense(p, q, bins, rng_, "paper") == pytest.approx(expected, rel=1e-12)


def test_emd_partial_move_and_shared_mass():
    # 3 units stay in bin (1, 1); one unit moves from (0, 0) to (0, 2): the
    # shared mass costs nothing, so EMD = 1/4 (probability) * distance 2.
    bins, rng_ = 3, [[0.0, 3.0], [0.0, 3.0]]
    a = np.zeros((3, 3))
    b = np.zeros((3, 3))
    a[1, 1] = b[1, 1] = 3.0
    a[0, 0] = 1.0
    b[0, 2] = 1.0
    p, q = as_convention(a, rng_, "normalised"), as_convention(b, rng_, "normalised")
    assert emd(p, q, bins, rng_, "normalised") == pytest.approx(0.5, rel=1e-12)
    assert emd_dense(p, q, bins, rng_, "normalised") == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_emd_identical_is_zero(conv):
    rng = np.random.default_rng(6)
    a = histogram2d(_sample("ring", 2000, rng), 20, RANGE)
    p = as_convention(a, RANGE, conv)
    assert emd(p, p.copy(), 20, RANGE, conv) == 0.0
    assert emd_dense(p, p.copy(), 20, RANGE, conv) == pytest.approx(0.0, abs=1e-12)


def test_emd_retries_then_fails(caplog):
    rng = np.random.default_rng(1)
    r_ = [[0.0, 1.0], [0.0, 1.0]]

    def pair(bins):
        a = histogram2d(rng.uniform(size=(200, 2)), bins, r_)
        b = histogram2d(rng.uniform(size=(200, 2)) ** 2, bins, r_)
        return as_convention(a, r_, "normalised"), as_convention(b, r_, "normalised")

    p, q = pair(5)
    with caplog.at_level(logging.WARNING, logger="laser.evaluation"):
        value = emd(p, q, 5, r_, "normalised", num_itermax=1)
    assert "numItermax=1 " in caplog.text
    assert value == pytest.approx(emd_dense(p, q, 5, r_, "normalised"), rel=1e-9)
    p, q = pair(20)
    with pytest.raises(RuntimeError, match="did not converge"):
        emd(p, q, 20, r_, "normalised", num_itermax=1)


# ------------------------------------------- EMD: column generation internals


def _blobs(n: int, rng: np.random.Generator, centre: tuple[float, float]):
    return rng.normal(scale=0.3, size=(n, 2)) + np.asarray(centre)


def _cg_pair(case: str, bins: int, seed: int, rng_=RANGE):
    """Raw counts of a pair of samples for the column-generation tests."""
    rng = np.random.default_rng(seed)
    if case == "far":  # disjoint blobs at opposite corners: all mass travels far
        return (
            histogram2d(_blobs(4000, rng, (-2.4, -1.4)), bins, rng_),
            histogram2d(_blobs(3000, rng, (2.4, 3.4)), bins, rng_),
        )
    if case == "far_mixed":  # part travels far, part stays
        x = np.concatenate(
            [_blobs(2000, rng, (-2.4, -1.4)), _sample("gauss", 2000, rng)]
        )
        y = np.concatenate([_blobs(2000, rng, (2.4, 3.4)), _sample("gauss", 2000, rng)])
        return histogram2d(x, bins, rng_), histogram2d(y, bins, rng_)
    if case == "same":  # same distribution: many tiny surpluses
        return (
            histogram2d(_sample("ring", 40000, rng), bins, rng_),
            histogram2d(_sample("ring", 30000, rng), bins, rng_),
        )
    if case == "shifted":
        return (
            histogram2d(_sample("gauss", 5000, rng), bins, rng_),
            histogram2d(_sample("shifted", 4000, rng), bins, rng_),
        )
    if case == "uniform":  # nearly every bin a source or a sink
        return (
            histogram2d(_sample("uniform", 20000, rng), bins, rng_),
            histogram2d(_sample("ring", 20000, rng), bins, rng_),
        )
    raise AssertionError(case)


CG_CASES = [
    ("far", 10, 10),
    ("far", 30, 11),
    ("far_mixed", 23, 12),
    ("same", 16, 13),
    ("same", 30, 14),
    ("shifted", 27, 15),
    ("uniform", 25, 16),
]


@pytest.mark.parametrize("conv", CONVENTIONS)
@pytest.mark.parametrize(("case", "bins", "seed"), CG_CASES)
def test_emd_column_generation_equals_dense(
    case, bins, seed, conv, monkeypatch, caplog
):
    # Force the multiscale column generation at every level above 8 nodes.
    monkeypatch.setattr(multiscale, "_DIRECT_MAX_NODES", 8)
    a, b = _cg_pair(case, bins, seed)
    p, q = as_convention(a, RANGE, conv), as_convention(b, RANGE, conv)
    with caplog.at_level(logging.DEBUG, logger="laser.evaluation"):
        fast = emd(p, q, bins, RANGE, conv)
    assert "emd column generation" in caplog.text
    levels = re.search(r"(\d+) levels", caplog.text)
    assert levels is not None and int(levels.group(1)) >= 2  # multiscale
    dense = emd_dense(p, q, bins, RANGE, conv)
    assert isinstance(fast, float)
    assert fast == pytest.approx(dense, rel=1e-9)
    assert emd(q, p, bins, RANGE, conv) == pytest.approx(dense, rel=1e-9)


def test_emd_column_generation_rectangular_odd_grid(monkeypatch):
    # Unequal bin widths and an odd number of bins (partial coarse blocks).
    monkeypatch.setattr(multiscale, "_DIRECT_MAX_NODES", 8)
    rng_ = [[-3.0, 3.0], [-1.0, 3.5]]
    bins = 21
    a, b = _cg_pair("far_mixed", bins, 17, rng_)
    for conv in CONVENTIONS:
        p, q = as_convention(a, rng_, conv), as_convention(b, rng_, conv)
        dense = emd_dense(p, q, bins, rng_, conv)
        assert emd(p, q, bins, rng_, conv) == pytest.approx(dense, rel=1e-9)


def test_emd_column_generation_random_histograms(monkeypatch):
    # Arbitrary masses, about half the bins empty in each histogram.
    monkeypatch.setattr(multiscale, "_DIRECT_MAX_NODES", 8)
    rng = np.random.default_rng(18)
    for bins in (12, 20):
        a = rng.exponential(size=(bins, bins)) * (rng.uniform(size=(bins, bins)) < 0.5)
        b = rng.exponential(size=(bins, bins)) * (rng.uniform(size=(bins, bins)) < 0.5)
        p = as_convention(a, RANGE, "normalised")
        q = as_convention(b, RANGE, "normalised")
        dense = emd_dense(p, q, bins, RANGE, "normalised")
        assert emd(p, q, bins, RANGE, "normalised") == pytest.approx(dense, rel=1e-9)


def test_emd_direct_column_generation_and_fallback_agree(monkeypatch):
    # One problem solved directly, by column generation and without the sparse
    # solver (older POT: dense reduced problem).
    a, b = _cg_pair("uniform", 30, 19)
    p, q = as_convention(a, RANGE, "paper"), as_convention(b, RANGE, "paper")
    direct = emd(p, q, 30, RANGE, "paper")
    monkeypatch.setattr(multiscale, "_DIRECT_MAX_NODES", 100)
    assert emd(p, q, 30, RANGE, "paper") == pytest.approx(direct, rel=1e-9)
    monkeypatch.setattr(simplex, "HAS_SPARSE", False)  # POT without sparse solver
    assert emd(p, q, 30, RANGE, "paper") == pytest.approx(direct, rel=1e-9)


def test_emd_column_generation_uncertified_raises(monkeypatch):
    monkeypatch.setattr(multiscale, "_DIRECT_MAX_NODES", 8)
    monkeypatch.setattr(multiscale, "_gap", lambda *args: 1.0)  # never certified
    a, b = _cg_pair("far", 10, 10)
    p, q = as_convention(a, RANGE, "paper"), as_convention(b, RANGE, "paper")
    with pytest.raises(RuntimeError, match="could not certify optimality"):
        emd(p, q, 10, RANGE, "paper")


def test_emd_column_generation_retries_then_fails(monkeypatch, caplog):
    monkeypatch.setattr(multiscale, "_DIRECT_MAX_NODES", 8)
    rng = np.random.default_rng(1)
    r_ = [[0.0, 1.0], [0.0, 1.0]]

    def pair(bins):
        a = histogram2d(rng.uniform(size=(200, 2)), bins, r_)
        b = histogram2d(rng.uniform(size=(200, 2)) ** 2, bins, r_)
        return as_convention(a, r_, "normalised"), as_convention(b, r_, "normalised")

    p, q = pair(5)
    with caplog.at_level(logging.WARNING, logger="laser.evaluation"):
        value = emd(p, q, 5, r_, "normalised", num_itermax=1)
    assert "sparse network simplex reached numItermax=1 " in caplog.text
    assert value == pytest.approx(emd_dense(p, q, 5, r_, "normalised"), rel=1e-9)
    p, q = pair(20)
    with pytest.raises(RuntimeError, match="did not converge"):
        emd(p, q, 20, r_, "normalised", num_itermax=1)


def test_price_finds_all_violations():
    rng = np.random.default_rng(20)
    xs, ys = rng.uniform(size=(150, 2)), rng.uniform(size=(90, 2))
    u, v = rng.uniform(0, 0.5, 150), rng.uniform(-0.3, 0.2, 90)
    red = np.linalg.norm(xs[:, None] - ys[None], axis=-1) - u[:, None] - v[None]
    i, j, worst = multiscale._price(xs, ys, u, v, 1e-12, per_source=90)
    expected = set(zip(*np.nonzero(red < -1e-12), strict=True))
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected
    assert worst == pytest.approx(min(red.min(), 0.0), abs=1e-12)
    # With a cap per source: the most negative ones of each violating source.
    i, j, _ = multiscale._price(xs, ys, u, v, 1e-12, per_source=3)
    for src in np.unique(i):
        got = np.sort(red[src, j[i == src]])
        row = red[src]
        np.testing.assert_allclose(got, np.sort(row)[: got.size])
        assert got.size == min(3, int((row < -1e-12).sum()))
    assert set(np.unique(i)) == {int(k) for k in np.nonzero(red.min(1) < -1e-12)[0]}


def test_gap_is_a_duality_bound():
    # Exact duals of a solved problem give gap 0; shifting them by -delta
    # keeps them feasible and lowers the bound by delta * mass.
    rng = np.random.default_rng(21)
    xs, ys = rng.uniform(size=(30, 2)), rng.uniform(size=(40, 2))
    a, b = rng.uniform(size=30), rng.uniform(size=40)
    b *= a.sum() / b.sum()
    cost = np.linalg.norm(xs[:, None] - ys[None], axis=-1)
    value, log = ot.emd2(a, b, cost, log=True)
    u, v = log["u"], log["v"]
    worst = min((cost - u[:, None] - v[None]).min(), 0.0)
    assert multiscale._gap(value, a, b, u, v, worst) < 1e-12
    gap = multiscale._gap(value, a, b, u + 0.01, v, worst - 0.01)
    assert gap == pytest.approx(0.0, abs=1e-12)  # the bound is unchanged
    gap = multiscale._gap(value, a, b, u - 0.01, v, worst)
    assert gap == pytest.approx(0.01 * a.sum() / value, rel=1e-9)


def test_north_west_arcs_are_feasible():
    rng = np.random.default_rng(22)
    for n, m in [(1, 5), (7, 1), (40, 65)]:
        a, b = rng.uniform(size=n), rng.uniform(size=m)
        b *= a.sum() / b.sum()
        xs, ys = rng.uniform(size=(n, 2)), rng.uniform(size=(m, 2))
        i, j = multiscale._north_west_arcs(a, b, xs, ys)
        assert i.size <= n + m - 1
        cost = np.ones(i.size)
        *_, code = simplex._emd_c_sparse(
            a, b, i.astype(np.uint64), j.astype(np.uint64), cost, 10_000
        )
        assert code == 1  # optimal, hence feasible


def test_grid_levels():
    rng_ = [[0.0, 5.0], [-1.0, 2.0]]
    grid = multiscale._Grid(5, np.asarray(rng_))
    fine = bin_centres(5, rng_)
    ix, iy = np.divmod(np.arange(25), 5)
    np.testing.assert_array_equal(grid.centres(0, ix, iy), fine)
    # Level 1 merges 2 x 2 bins, the last row/column alone (5 is odd).
    c1 = grid.centres(1, np.array([0, 2, 1]), np.array([0, 2, 2]))
    np.testing.assert_allclose(c1[0], fine[[0, 1, 5, 6]].mean(0))
    np.testing.assert_allclose(c1[1], fine[24])
    np.testing.assert_allclose(c1[2], fine[[14, 19]].mean(0))
    assert grid.spacing == pytest.approx(0.6)


def test_emd_rejects_unequal_mass():
    p = np.full((3, 3), 1 / 9)
    with pytest.raises(ValueError, match="equal total mass"):
        emd(p, 2 * p, 3, RANGE, "normalised")


# --------------------------------------------------------------------- scores


def test_scores_structure_and_values():
    bins = 10
    rng = np.random.default_rng(7)
    a = histogram2d(_sample("gauss", 3000, rng), bins, RANGE)
    b = histogram2d(_sample("shifted", 3000, rng), bins, RANGE)
    s = scores(a, b, RANGE)
    assert set(s) == set(CONVENTIONS)
    for conv in CONVENTIONS:
        assert set(s[conv]) == {"emd", "jsd"}
        assert all(isinstance(v, float) for v in s[conv].values())
        p, q = as_convention(a, RANGE, conv), as_convention(b, RANGE, conv)
        assert s[conv]["jsd"] == pytest.approx(jsd(p, q), rel=1e-12)
        assert s[conv]["emd"] == pytest.approx(
            emd_dense(p, q, bins, RANGE, conv), rel=1e-6
        )
    # Counts with a different total give the same scores (normalised away).
    s2 = scores(a, 3.0 * b, RANGE)
    for conv in CONVENTIONS:
        for key in ("emd", "jsd"):
            assert s2[conv][key] == pytest.approx(s[conv][key], rel=1e-9)
    same = scores(a, a, RANGE)
    assert same["paper"] == {"emd": 0.0, "jsd": 0.0}


# ----------------------------------------------------------------- validation


def test_invalid_arguments():
    x = np.zeros((5, 2))
    counts = np.ones((4, 4))
    with pytest.raises(ValueError, match="convention"):
        as_convention(counts, RANGE, "probability")
    with pytest.raises(ValueError, match="convention"):
        ground_cost(4, RANGE, "Paper")
    with pytest.raises(ValueError, match="convention"):
        emd(counts / 16, counts / 16, 4, RANGE, "bogus")
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        histogram2d(np.zeros((5, 3)), 4, RANGE)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        histogram2d(np.zeros(10), 4, RANGE)
    with pytest.raises(ValueError, match="range"):
        histogram2d(x, 4, [[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="range"):
        histogram2d(x, 4, [0.0, 1.0])
    with pytest.raises(ValueError, match="range"):
        bin_centres(4, [[0.0, 1.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="bins"):
        histogram2d(x, 1, RANGE)
    with pytest.raises(ValueError, match="bins"):
        bin_centres(2.5, RANGE)
    with pytest.raises(ValueError, match="weights"):
        histogram2d(x, 4, RANGE, weights=np.ones(4))
    with pytest.raises(ValueError, match="same shape"):
        jsd(np.ones((4, 4)), np.ones((5, 5)))
    with pytest.raises(ValueError, match="same shape"):
        scores(np.ones((4, 4)), np.ones((5, 5)), RANGE)
    with pytest.raises(ValueError, match="same shape"):
        emd(np.ones((4, 4)), np.ones(16), 4, RANGE, "normalised")
    with pytest.raises(ValueError, match="bins\\*bins"):
        emd(np.ones((4, 4)), np.ones((4, 4)), 5, RANGE, "normalised")


def test_empty_and_nan_rejected():
    outside = np.full((10, 2), 100.0)
    empty = histogram2d(outside, 4, RANGE)
    assert empty.sum() == 0
    with pytest.raises(ValueError, match="empty"):
        as_convention(empty, RANGE, "paper")
    with pytest.raises(ValueError, match="empty"):
        scores(empty, np.ones((4, 4)), RANGE)
    with pytest.raises(ValueError, match="empty"):
        jsd(np.zeros(4), np.ones(4))
    x = np.zeros((5, 2))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        histogram2d(x, 4, RANGE)
    with pytest.raises(ValueError, match="weights contains NaN"):
        histogram2d(np.zeros((3, 2)), 4, RANGE, weights=np.array([1.0, np.nan, 1.0]))
    bad = np.ones((4, 4))
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        jsd(bad, np.ones((4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        emd(np.ones((4, 4)), bad, 4, RANGE, "normalised")
    with pytest.raises(ValueError, match="NaN"):
        as_convention(bad, RANGE, "normalised")
    with pytest.raises(ValueError, match="negative"):
        jsd(-np.ones(4), np.ones(4))


def test_public_api():
    assert histograms.CONVENTIONS == ("paper", "normalised")
    for name in metrics.__all__:
        assert hasattr(metrics, name)
