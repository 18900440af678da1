"""Tests of laser.datasets: the paper's toy distributions and their Betti numbers.

Statistical tolerances are 5 or more standard errors of the sample sizes used.
"""

import numpy as np
import pytest

from laser import datasets
from laser.datasets import TOYS

N = 40_000


@pytest.mark.parametrize("name", sorted(TOYS))
def test_shape_dtype_and_seeds(name):
    x = datasets.sample(name, 1001, seed=3)
    assert x.shape == (1001, 2) and x.dtype == np.float32
    assert np.isfinite(x).all()
    np.testing.assert_array_equal(x, datasets.sample(name, 1001, seed=3))
    other = datasets.sample(name, 1001, seed=4)
    assert not np.any(np.all(x == other, axis=1))  # no row repeats
    assert datasets.sample(name, 1, seed=0).shape == (1, 2)


@pytest.mark.parametrize("name", sorted(TOYS))
def test_draw_matches_sample_in_float64(name):
    x64 = TOYS[name].draw(500, np.random.default_rng(9))
    assert x64.dtype == np.float64
    np.testing.assert_array_equal(
        datasets.sample(name, 500, seed=9), x64.astype(np.float32)
    )


def test_gaussians_four_unit_clusters():
    x = datasets.sample("gaussians", N, seed=0).astype(np.float64)
    for sx in (-1, 1):
        for sy in (-1, 1):
            q = x[(np.sign(x[:, 0]) == sx) & (np.sign(x[:, 1]) == sy)]
            # equal-weight mixture: N/4 = 10000 +- 87 per quadrant
            assert abs(len(q) - N / 4) < 500
            np.testing.assert_allclose(q.mean(0), [4.0 * sx, 4.0 * sy], atol=0.05)
            np.testing.assert_allclose(q.std(0), [1.0, 1.0], atol=0.04)
            assert abs(np.corrcoef(q.T)[0, 1]) < 0.05


def test_gaussians_are_shuffled():
    """Consecutive points do not come from the same cluster in blocks."""
    x = datasets.sample("gaussians", 4000, seed=1)
    quadrant = (x[:, 0] > 0) * 2 + (x[:, 1] > 0)
    same = np.mean(quadrant[1:] == quadrant[:-1])
    assert same == pytest.approx(0.25, abs=0.04)


def _radius_about(x: np.ndarray, centres: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre (on y = 0) and the distance to it."""
    c = np.asarray(centres)
    d = np.hypot(x[:, :1] - c[None, :], x[:, 1:])  # (N, K)
    k = d.argmin(1)
    return k, d[np.arange(len(x)), k]


def test_double_donut_radii():
    """Rings of radius N(4, 1) about (+-4, 0).

    The rings overlap near the origin, so only the outer halves (|x0| > 4) are
    used: there the ring is known, and the radius of a point drawn at angle phi
    is independent of phi, hence still N(4, 1).
    """
    x = datasets.sample("double_donut", N, seed=2).astype(np.float64)
    outer = x[np.abs(x[:, 0]) > 4.0]
    left = outer[:, 0] < 0
    assert abs(left.mean() - 0.5) < 0.02
    r = np.hypot(outer[:, 0] - 4.0 * np.sign(outer[:, 0]), outer[:, 1])
    assert r.mean() == pytest.approx(4.0, abs=0.04)
    assert r.std() == pytest.approx(1.0, abs=0.03)
    assert abs(x[:, 1].mean()) < 0.1
    # nearly every point lies within 3 sigma of its nearest ring
    _, d = _radius_about(x, [-4.0, 4.0])
    assert np.mean(np.abs(d - 4.0) < 3.0) > 0.99


def test_rings_three_centres():
    x = datasets.sample("rings", N, seed=3).astype(np.float64)
    k, d = _radius_about(x, [-12.0, 0.0, 12.0])
    np.testing.assert_allclose(np.bincount(k, minlength=3) / N, 1 / 3, atol=0.015)
    for i, c in enumerate((-12.0, 0.0, 12.0)):
        ring = x[k == i]
        np.testing.assert_allclose(ring.mean(0), [c, 0.0], atol=0.1)
        assert d[k == i].mean() == pytest.approx(4.0, abs=0.05)
        assert d[k == i].std() == pytest.approx(1.0, abs=0.04)


def test_betti_numbers():
    assert {name: toy.betti for name, toy in TOYS.items()} == {
        "gaussians": (4, 0),
        "double_donut": (1, 2),
        "rings": (3, 3),
    }
    assert all(toy.name == name for name, toy in TOYS.items())


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="unknown dataset 'moons'"):
        datasets.sample("moons", 10, seed=0)
    for n in (0, -5):
        with pytest.raises(ValueError, match="sample size"):
            datasets.sample("rings", n, seed=0)
