"""Tests of laser.datasets: the paper's toy distributions and their Betti numbers.

Statistical tolerances are 5 or more standard errors of the sample sizes used.
"""

import numpy as np
import pytest
import torch

from laser.data import toys as datasets
from laser.data.toys import TOYS

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


# ------------------------------------------------------------- exact log densities

# Integration grids: midpoints of square cells of side H over a range that holds
# all but < 1e-8 of the mass. The ring centres lie on cell corners, never on a
# midpoint, so the integrable 1/rho spike there is sampled at rho >= H/sqrt(2).
H = 0.04
GRIDS = {
    "gaussians": [(-12.0, 12.0), (-12.0, 12.0)],
    "double_donut": [(-16.0, 16.0), (-12.0, 12.0)],
    "rings": [(-24.0, 24.0), (-12.0, 12.0)],
}


def _midpoints(lo: float, hi: float, h: float) -> np.ndarray:
    return np.arange(lo + h / 2, hi, h)


def _density_on_grid(name: str, h: float = H) -> tuple[np.ndarray, float]:
    (x0, x1), (y0, y1) = GRIDS[name]
    gx, gy = np.meshgrid(_midpoints(x0, x1, h), _midpoints(y0, y1, h), indexing="ij")
    x = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1))  # (G, 2) float64
    return datasets.log_prob(name, x).exp().numpy().reshape(gx.shape), h * h


@pytest.mark.parametrize("name", sorted(TOYS))
def test_log_prob_is_normalised(name):
    p, area = _density_on_grid(name)
    # the midpoint rule is exact to O(h^2) on the smooth part; the spikes at the
    # ring centres hold ~1e-5 of the mass within one cell
    assert p.sum() * area == pytest.approx(1.0, abs=2e-4)
    assert np.isfinite(p).all() and (p >= 0).all()


def _chi2_per_bin(x: np.ndarray, name: str, log_prob, bins: int = 40) -> float:
    """Pearson chi^2 / dof of a sample's 2D histogram against bin masses of
    `log_prob` (integrated on 8 x 8 midpoints per bin), bins expecting >= 25."""
    (x0, x1), (y0, y1) = GRIDS[name]
    counts, ex, ey = np.histogram2d(x[:, 0], x[:, 1], bins, [[x0, x1], [y0, y1]])
    hx, hy = (x1 - x0) / bins / 8, (y1 - y0) / bins / 8
    gx, gy = np.meshgrid(_midpoints(x0, x1, hx), _midpoints(y0, y1, hy), indexing="ij")
    pts = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1))
    p = log_prob(pts).exp().numpy().reshape(bins, 8, bins, 8)
    expected = p.sum((1, 3)) * hx * hy * len(x)
    keep = expected >= 25
    chi2 = ((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    return chi2 / keep.sum()


@pytest.mark.parametrize("name", sorted(TOYS))
def test_log_prob_matches_the_sampler(name):
    """The histogram of 400k draws against the bin masses of the exact density:
    chi^2 per bin ~ 1 (0.83-1.08 over seeds; its scatter sqrt(2 / bins) is
    0.05-0.1 here); a ring radius of 4.05 instead of 4 (Gaussian centres
    shifted by 0.05) gives > 1.5."""
    x = datasets.sample(name, 400_000, seed=11).astype(np.float64)
    assert _chi2_per_bin(x, name, TOYS[name].log_prob) < 1.25
    shift = torch.tensor([0.05, 0.05], dtype=torch.float64)
    if name == "gaussians":

        def wrong(p):
            return datasets.log_prob(name, p - shift)
    else:
        wrong_centres = (
            datasets.DONUT_CENTRES if name == "double_donut" else datasets.RING_CENTRES
        )

        def wrong(p):
            parts = [datasets._ring_log_prob(p, c, 4.05, 1.0) for c in wrong_centres]
            return torch.logsumexp(torch.stack(parts, -1), -1) - np.log(len(parts))

    assert _chi2_per_bin(x, name, wrong) > 1.5


@pytest.mark.parametrize("name", sorted(TOYS))
def test_log_prob_is_differentiable_and_keeps_dtype(name):
    # ring centres included: the 1/rho spike is floored, value and gradient finite
    pts = [[0.0, 0.0], [4.0, 0.0], [-4.0, 0.0], [12.0, 0.0], [4.0, 4.0], [30.0, -9.0]]
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor(pts, dtype=dtype, requires_grad=True)
        lp = datasets.log_prob(name, x)
        assert lp.shape == (len(pts),) and lp.dtype == dtype
        (grad,) = torch.autograd.grad(lp.sum(), x)
        assert torch.isfinite(lp).all() and torch.isfinite(grad).all()
    # autograd's gradient equals a central finite difference away from centres
    x = torch.tensor([[1.3, -2.1], [5.5, 0.7]], dtype=torch.float64)
    torch.autograd.gradcheck(
        lambda p: datasets.log_prob(name, p), (x.requires_grad_(),)
    )


def test_log_prob_known_values():
    # a Gaussian's centre: 1/4 N(0; 0, I) (the others add e^-32 and less)
    x = torch.tensor([[4.0, -4.0]], dtype=torch.float64)
    assert datasets.log_prob("gaussians", x).item() == pytest.approx(
        -np.log(4 * 2 * np.pi), abs=1e-12
    )
    # on the middle ring of `rings` at radius 4, far from the others:
    # 1/3 (N(0) + N(-8)) / (2 pi 4)
    x = torch.tensor([[0.0, 4.0]], dtype=torch.float64)
    expected = np.log((1 + np.exp(-32)) / np.sqrt(2 * np.pi) / (3 * 2 * np.pi * 4))
    assert datasets.log_prob("rings", x).item() == pytest.approx(expected, abs=1e-6)


def test_log_prob_bad_arguments_raise():
    with pytest.raises(ValueError, match="unknown dataset 'moons'"):
        datasets.log_prob("moons", torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        datasets.log_prob("rings", torch.zeros(3, 3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        datasets.log_prob("rings", np.zeros((3, 2)))
