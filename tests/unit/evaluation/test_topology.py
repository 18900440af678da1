"""Tests of laser.evaluation.topology: Betti numbers of samples by persistent
homology."""

from collections.abc import Callable

import numpy as np
import pytest

from laser.data import toys as datasets
from laser.evaluation import topology

BINS = 100  # the paper's evaluation grid
SEEDS = [0, 1, 2]

# ------------------------------------------------------------------ shapes


def _uniform_on(
    inside: Callable[[np.ndarray], np.ndarray], box: list[list[float]]
) -> Callable[[int, np.random.Generator], np.ndarray]:
    """Uniform points in {inside(x)} by rejection from the box [[x0, x1], [y0, y1]]."""

    def draw(n: int, rng: np.random.Generator) -> np.ndarray:
        out, have = [], 0
        while have < n:
            x = rng.uniform(*np.transpose(box), size=(2 * n, 2))  # (2n, 2)
            x = x[inside(x)]
            out.append(x)
            have += len(x)
        return np.concatenate(out)[:n]

    return draw


def _annulus(x: np.ndarray, cx: float, r0: float, r1: float) -> np.ndarray:
    r = np.hypot(x[:, 0] - cx, x[:, 1])
    return (r >= r0) & (r <= r1)


# name: (sampler, histogram range, true (b0, b1))
SHAPES = {
    "disk": (
        _uniform_on(lambda x: _annulus(x, 0.0, 0.0, 1.0), [[-1, 1], [-1, 1]]),
        [[-1.3, 1.3], [-1.3, 1.3]],
        (1, 0),
    ),
    "annulus": (
        _uniform_on(lambda x: _annulus(x, 0.0, 0.5, 1.0), [[-1, 1], [-1, 1]]),
        [[-1.3, 1.3], [-1.3, 1.3]],
        (1, 1),
    ),
    "two_disks": (
        _uniform_on(
            lambda x: _annulus(x, -1.5, 0.0, 1.0) | _annulus(x, 1.5, 0.0, 1.0),
            [[-2.5, 2.5], [-1, 1]],
        ),
        [[-3.0, 3.0], [-1.5, 1.5]],
        (2, 0),
    ),
    # two annuli overlapping near the origin: one component, two holes
    "figure_eight": (
        _uniform_on(
            lambda x: _annulus(x, -0.85, 0.5, 1.0) | _annulus(x, 0.85, 0.5, 1.0),
            [[-1.85, 1.85], [-1, 1]],
        ),
        [[-2.2, 2.2], [-1.3, 1.3]],
        (1, 2),
    ),
    "square": (  # uniform over the whole histogram range: noise on a flat top
        _uniform_on(lambda x: np.ones(len(x), bool), [[-1, 1], [-1, 1]]),
        [[-1.0, 1.0], [-1.0, 1.0]],
        (1, 0),
    ),
}

TOY_RANGES = {
    "gaussians": [[-8.2, 8.2], [-8.2, 8.2]],
    "double_donut": [[-11.0, 11.0], [-7.0, 7.0]],
    "rings": [[-20.2, 20.2], [-8.2, 8.2]],
}


def _measure(draw, box, n: int, seed: int, bins: int = BINS) -> tuple[int, int]:
    """Betti numbers of one sample, tau from it and an independent sample."""
    rng = np.random.default_rng(seed)
    a, b = draw(n, rng), draw(n, rng)
    return topology.betti(a, bins, box, topology.threshold(a, b, bins, box))


# ----------------------------------------------------------------- recovery


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_simple_shapes_are_recovered(name: str, seed: int) -> None:
    draw, box, true = SHAPES[name]
    assert _measure(draw, box, 500_000, seed) == true


@pytest.mark.parametrize("n", [100_000, 2_000_000])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(datasets.TOYS))
def test_toys_are_recovered(name: str, seed: int, n: int) -> None:
    """The paper's toys at 100k points and at its evaluation size, 2M."""
    draw = datasets.TOYS[name].draw
    assert _measure(draw, TOY_RANGES[name], n, seed) == datasets.TOYS[name].betti


@pytest.mark.parametrize("name", sorted(datasets.TOYS))
def test_toys_are_recovered_on_the_tiny_grid(name: str) -> None:
    """The test config's 20k points on 30 x 30 bins still resolve every feature."""
    draw = datasets.TOYS[name].draw
    got = _measure(draw, TOY_RANGES[name], 20_000, 5, bins=30)
    assert got == datasets.TOYS[name].betti


# ---------------------------------------------------------------- threshold


def test_threshold_is_a_noise_multiple_independent_of_the_sample_size() -> None:
    box, rng = TOY_RANGES["gaussians"], np.random.default_rng(3)

    def t(n: int) -> float:
        a, b = datasets.gaussians(n, rng), datasets.gaussians(n, rng)
        return topology.threshold(a, b, BINS, box)

    small, large = np.median([t(50_000) for _ in range(3)]), t(800_000)
    assert 4 < small < 12 and 4 < large < 12
    assert small == pytest.approx(large, rel=0.3)
    # the definition: twice the sup-norm distance of the normalised histograms,
    # in standard deviations of their difference at the noisiest bin
    a, b = datasets.gaussians(10_000, rng), datasets.gaussians(12_000, rng)
    (ga, sa), (gb, sb) = (topology.histogram(s, BINS, box) for s in (a, b))
    na, nb = ga.sum(), gb.sum()
    expected = 2 * np.abs(ga / na - gb / nb).max() / np.hypot(sa / na, sb / nb)
    assert topology.threshold(a, b, BINS, box) == pytest.approx(expected, rel=1e-12)


def test_noise_model_of_the_smoothed_histogram() -> None:
    """sigma is the standard deviation of the noisiest smoothed bin of a Poisson
    sample (a Poisson number of points), also with weights."""
    rng = np.random.default_rng(8)
    box = [[-3.0, 3.0], [-1.5, 1.5]]  # anisotropic bins
    draws = [rng.normal(0.0, 1.0, (rng.poisson(5000), 2)) for _ in range(400)]
    weights = [rng.exponential(1.0, len(x)) for x in draws]
    for w in (None, "exp"):
        runs = [
            topology.histogram(x, 12, box, None if w is None else v)
            for x, v in zip(draws, weights, strict=True)
        ]
        g = np.stack([r[0] for r in runs])  # (400, 12, 12)
        sigma = np.median([r[1] for r in runs])
        assert g.std(0).max() == pytest.approx(sigma, rel=0.12)
    # unsmoothed and unweighted: sigma = sqrt(largest count)
    g, sigma = topology.histogram(draws[0], 12, box, smoothing=0.0)
    assert sigma == np.sqrt(g.max())
    # weights scale both the counts and their noise
    g2, sigma2 = topology.histogram(draws[0], 12, box, np.full(len(draws[0]), 2.0))
    g1, sigma1 = topology.histogram(draws[0], 12, box)
    np.testing.assert_allclose(g2, 2 * g1)
    assert sigma2 == pytest.approx(2 * sigma1)


def test_noise_alone_has_no_features() -> None:
    """A uniform sample, scored with its own tau or with a toy truth's tau of the
    same size, is one component without holes; with T = 0 its noise shows."""
    n, box = 400_000, [[-8.2, 8.2], [-8.2, 8.2]]
    rng = np.random.default_rng(4)
    flat = rng.uniform(-8.2, 8.2, (n, 2))
    tau = topology.threshold(
        datasets.gaussians(n, rng), datasets.gaussians(n, rng), BINS, box
    )
    assert topology.betti(flat, BINS, box, tau) == (1, 0)
    b0, b1 = topology.betti(flat, BINS, box, 0.0)
    assert b0 > 10 and b1 > 10


def test_a_cycle_of_bridges_between_the_modes_is_a_hole() -> None:
    """The baseline's failure mode (Fig. 3): 5% of the points on bridges joining
    the four Gaussians. The modes stay separate maxima, the bridges close a loop."""
    n, box = 2_000_000, TOY_RANGES["gaussians"]
    rng = np.random.default_rng(5)
    tau = topology.threshold(
        datasets.gaussians(n, rng), datasets.gaussians(n, rng), BINS, box
    )
    k = n // 20
    corners = np.array([[-4, -4], [-4, 4], [4, 4], [4, -4]])
    edge = rng.integers(0, 4, k)
    t = rng.uniform(0, 1, (k, 1))
    bridges = corners[edge] + t * (corners[(edge + 1) % 4] - corners[edge])
    bridges += rng.normal(0, 0.3, (k, 2))
    x = np.concatenate([datasets.gaussians(n - k, rng), bridges])
    assert topology.betti(x, BINS, box, tau) == (4, 1)


def test_weights_are_histogram_weights() -> None:
    """Weights that remove two Gaussians leave two components (the DCTR case)."""
    n, box = 400_000, TOY_RANGES["gaussians"]
    rng = np.random.default_rng(6)
    tau = topology.threshold(
        datasets.gaussians(n, rng), datasets.gaussians(n, rng), BINS, box
    )
    x = datasets.gaussians(n, rng)
    w = np.where(x[:, 0] > 0, 2.0, 1e-9)
    assert topology.betti(x, BINS, box, tau) == (4, 0)
    assert topology.betti(x, BINS, box, tau, weights=w) == (2, 0)


# ------------------------------------------------------------------ pieces


def test_diagram_of_a_known_function() -> None:
    """Two peaks (1.0, 0.6) on a ring of level 0.2 around a hole of level 0.1."""
    f = np.zeros((7, 7))
    f[1:6, 1:6] = 0.2  # a ring of level 0.2 ...
    f[2:5, 2:5] = 0.1  # ... around a hole that fills at 0.1
    f[1, 1], f[5, 5] = 1.0, 0.6
    dim0, dim1 = topology.diagram(f)
    np.testing.assert_allclose(
        dim0[np.argsort(-dim0[:, 0])], [[1.0, -np.inf], [0.6, 0.2]]
    )
    np.testing.assert_allclose(dim1, [[0.2, 0.1]])
    assert topology.betti_numbers(f, 0.05) == (2, 1)
    assert topology.betti_numbers(f, 0.15) == (2, 0)
    assert topology.betti_numbers(f, 0.5) == (1, 0)
    assert topology.betti_numbers(np.zeros((4, 4)), 0.0) == (0, 0)


def test_smoothing_is_isotropic_in_data_units() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 1.0, (200_000, 2))
    box = [[-8.0, 8.0], [-4.0, 4.0]]  # bins twice as wide in x as in y
    g, _ = topology.histogram(x, 40, box)
    assert g.shape == (40, 40) and g.min() >= 0.0
    assert g.sum() == pytest.approx(200_000, rel=1e-3)  # mass kept (inside)
    # one x-bin (0.4) wide along both axes in data units: the normal stays round
    centres = [np.linspace(a + (b - a) / 80, b - (b - a) / 80, 40) for a, b in box]
    px, py = g.sum(1), g.sum(0)
    sx = np.sqrt(np.sum(px * centres[0] ** 2) / px.sum())
    sy = np.sqrt(np.sum(py * centres[1] ** 2) / py.sum())
    assert sx == pytest.approx(sy, rel=0.02)
    assert sx == pytest.approx(np.hypot(1.0, 0.4), rel=0.02)
    # no point in range: an empty histogram and no features
    far = x + 100.0
    g, sigma = topology.histogram(far, 40, box)
    assert not g.any() and sigma == 0.0
    assert topology.betti(far, 40, box, 7.0) == (0, 0)


def test_bad_input_raises() -> None:
    x = np.zeros((10, 2))
    box = [[-1.0, 1.0], [-1.0, 1.0]]
    with pytest.raises(ValueError, match="smoothing"):
        topology.histogram(x, 10, box, smoothing=-1.0)
    with pytest.raises(ValueError, match="noise_threshold"):
        topology.betti(x, 10, box, -0.1)
    with pytest.raises(ValueError, match="tau"):
        topology.betti_numbers(np.ones((3, 3)), -0.1)
    with pytest.raises(ValueError, match="no point"):
        topology.threshold(x + 5.0, x, 10, box)
    with pytest.raises(ValueError, match="shape"):
        topology.histogram(np.zeros((10, 3)), 10, box)


# -------------------------------------------------------------------- depth


def _uneven_ring(amplitude: float) -> Callable[[int, np.random.Generator], np.ndarray]:
    """A ring of radius 3, width 0.3, its angle's density 1 + a cos(2 phi)."""

    def draw(n: int, rng: np.random.Generator) -> np.ndarray:
        out, have = [], 0
        while have < n:
            phi = rng.uniform(0, 2 * np.pi, 2 * n)
            phi = phi[
                rng.uniform(0, 1 + amplitude, 2 * n) < 1 + amplitude * np.cos(2 * phi)
            ]
            out.append(phi)
            have += len(phi)
        phi = np.concatenate(out)[:n]
        r = rng.normal(3.0, 0.3, n)
        return np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)

    return draw


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_simple_shapes_are_recovered_at_half_depth(name: str, seed: int) -> None:
    draw, box, true = SHAPES[name]
    rng = np.random.default_rng(seed)
    a, b = draw(500_000, rng), draw(500_000, rng)
    t = topology.threshold(a, b, BINS, box)
    assert topology.betti(a, BINS, box, t, depth=0.5) == true


@pytest.mark.parametrize("n", [100_000, 2_000_000])
@pytest.mark.parametrize("name", sorted(datasets.TOYS))
def test_toys_are_recovered_at_half_depth_on_the_papers_grid(name: str, n: int) -> None:
    rng = np.random.default_rng(3)
    draw, box = datasets.TOYS[name].draw, TOY_RANGES[name]
    a, b = draw(n, rng), draw(n, rng)
    t = topology.threshold(a, b, BINS, box)
    assert topology.betti(a, BINS, box, t, depth=0.5) == datasets.TOYS[name].betti


@pytest.mark.parametrize("n", [200_000, 2_000_000])
def test_a_dip_along_a_ring_is_not_a_gap(n: int) -> None:
    """A ring whose density varies by +-20 % along it (the peaks' valleys at 0.67
    of the peaks; not one of the toys the depth was chosen on) is one component
    with one hole; counting every significant maximum makes it two components."""
    draw, box = _uneven_ring(0.2), [[-4, 4], [-4, 4]]
    rng = np.random.default_rng(7)
    a, b = draw(n, rng), draw(n, rng)
    t = topology.threshold(a, b, BINS, box)
    assert topology.betti(a, BINS, box, t, depth=0.5) == (1, 1)
    assert topology.betti(a, BINS, box, t) == (2, 1)  # depth 1: every maximum


def test_depth_counts_only_deep_features() -> None:
    """Two bumps of height 1 joined at level 0.6: two components at depth 1 or
    0.6, one at depth 0.5; a bad depth is refused."""
    x = np.linspace(-3, 3, 61)
    f = np.maximum(
        np.exp(-((x[:, None] - 1.5) ** 2)), np.exp(-((x[:, None] + 1.5) ** 2))
    )
    f = np.maximum(f, 0.6 * (np.abs(x[:, None]) < 1.6)) * np.exp(-(x[None, :] ** 2))
    assert topology.betti_numbers(f, 0.01, depth=1.0) == (2, 0)
    assert topology.betti_numbers(f, 0.01, depth=0.61) == (2, 0)
    assert topology.betti_numbers(f, 0.01, depth=0.5) == (1, 0)
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="depth"):
            topology.betti_numbers(f, 0.01, depth=bad)
