"""Betti numbers b0, b1 of a 2D sample by persistent homology of its density.

The paper describes its toys by the Betti numbers of their support (Sec. 2.2:
4 Gaussians b0 = 4, b1 = 0; double donut 1, 2; rings 3, 3) and argues that a
flow cannot change those of its latent space. This module measures them from a
sample, so that every method's output (and latent sample) can be checked.

Estimator. The sample is histogrammed on the evaluation grid (Sec. 4.2) and
smoothed with a Gaussian kernel one bin of the coarser axis wide, isotropic in
data units: g. The superlevel filtration of g (its sets ``{g >= t}`` for t
falling from max g to 0) is a cubical complex of the bins (gudhi's
``CubicalComplex`` on ``-g``; bins that share a corner are connected). Every
connected component and every hole of the superlevel sets is born at one level
and dies at a lower one; its persistence is the difference. b0 counts the
component that never dies plus the finite components, b1 the holes, whose
persistence exceeds a threshold tau and which are deep.

Depth. Persistence above the noise makes a feature real, not a feature of the
support that the paper's Betti numbers describe: a ring whose density varies
by +-20 % along it has two significant maxima at 200k points. With `depth`
< 1 a feature must also die at or below depth times its birth level (0.5: a
saddle at most half its peak, a hole's inside at most half its rim's lowest
point, the half-maximum convention). It needs a grid that resolves the
features: on the paper's 100 x 100 grid the toys' rings part at 0.24 of the
peak and their holes at 0.03, on 30 x 30 at 0.66-0.72 and 0.5. Default 1.

Threshold. The noise of g is Poisson: a bin's smoothed count has standard
deviation sqrt(sum_j k_j^2 n_j) (n_j the counts, k the kernel; sums of squared
weights for a weighted sample), largest near the highest bins; sigma is that
largest value. For the truth, the sup-norm distance between the histograms of
the truth sample and of the independent truth sample (each over its total) is
measured in units of the standard deviation of their difference,
sqrt(sigma_truth^2 + sigma_test^2); T is twice it (4-8 on the paper's
100 x 100 grid). A feature of any sample counts when its persistence exceeds
tau = T sqrt(2) sigma_sample (for a Markov chain's sample the sigma of its
effective sample size, below): twice the sup-norm distance that two
independent samples with that sample's own noise would show, by the truth's
measure. By the stability theorem of persistence diagrams, a perturbation of
sup norm eps moves every point of a diagram by at most eps, so features with
persistence below 2 eps can appear or vanish between two samples of the same
distribution: tau keeps only features that sampling noise cannot create or
erase. It is measured on the truth and scales with each sample's own noise, so
it serves methods whose peak density differs from the truth's, weighted
samples, and the latent space, which has no truth sample; and it shrinks, as
a fraction of the peak, like 1/sqrt(N), so that 2M points resolve finer
features than 20k. Smoothing removes single-bin noise maxima; being isotropic
in data units, it gives a ring's ridge the same height in every direction,
where averaging over anisotropic bins alone would modulate it.

Effective sample size. The Poisson sigma holds for independent draws. The
draws of a Markov chain (HMC, Langevin) are autocorrelated, and the smoothed
counts of their bins are over-dispersed by a factor kappa >= 1: the sample
weighs like N / kappa independent draws, its effective sample size. Where the
sample's grouping into independent groups is known (whole chains,
:func:`chain_groups`), kappa is measured from the sample itself
(:func:`overdispersion`): the groups' smoothed histograms scatter about their
shares of the total by kappa times the Poisson variance, in the bins that set
sigma. The threshold is then that of N / kappa independent draws,
tau = T sqrt(2) sigma sqrt(kappa). A sample without a grouping counts as
independent (kappa = 1).

References:
    R. Winterhalder, M. Bellagente, B. Nachman, "Latent Space Refinement for
    Deep Generative Models", arXiv:2106.00792, Sec. 2.2 and Figs. 3-5.
    D. Cohen-Steiner, H. Edelsbrunner, J. Harer, "Stability of persistence
    diagrams", Discrete Comput. Geom. 37 (2007) 103 (the stability theorem).
    B. T. Fasy et al., "Confidence sets for persistence diagrams", Ann. Statist.
    42 (2014) 2301 (significant features: persistence above twice the sup-norm
    error of the density estimate).
    A. Gelman, D. B. Rubin, "Inference from iterative simulation using multiple
    sequences", Statist. Sci. 7 (1992) 457 (between-chain variance).
    The GUDHI Project, "Cubical complex", GUDHI User and Reference Manual 3.13,
    https://gudhi.inria.fr/python/latest/cubical_complex_user.html.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import gudhi
import numpy as np
from scipy.ndimage import correlate1d, gaussian_filter1d

from laser.evaluation import histograms

__all__ = [
    "GROUPS",
    "SMOOTHING",
    "betti",
    "betti_numbers",
    "chain_groups",
    "diagram",
    "histogram",
    "overdispersion",
    "threshold",
]

log = logging.getLogger(__name__)

#: Width (standard deviation) of the Gaussian smoothing, in bins of the coarser
#: axis; the finer axis gets the same width in data units.
SMOOTHING: float = 1.0

#: Independent groups of whole chains whose scatter measures the over-dispersion
#: (K - 1 = 49 degrees of freedom in every bin).
GROUPS: int = 50

#: The bins whose over-dispersion is measured: Poisson variance at least this
#: fraction of the largest, where sigma is taken.
TOP: float = 0.5


def _kernels(
    bins: int, range: Sequence[Sequence[float]], smoothing: float
) -> list[np.ndarray]:
    """The 1D smoothing kernel (weights (2 h + 1,)) of each axis."""
    width = np.diff(np.asarray(range, dtype=np.float64), axis=1)[:, 0] / bins
    kernels = []
    for sigma in smoothing * width.max() / width:  # in bins of each axis
        half = int(np.ceil(4.0 * sigma))
        delta = np.zeros(2 * half + 1)
        delta[half] = 1.0
        kernels.append(gaussian_filter1d(delta, sigma, mode="constant"))
    return kernels


def histogram(
    x: np.ndarray,
    bins: int,
    range: Sequence[Sequence[float]],
    weights: np.ndarray | None = None,
    smoothing: float = SMOOTHING,
) -> tuple[np.ndarray, float]:
    """The smoothed histogram of a sample and the standard deviation of its noise.

    The counts (sums of weights) are smoothed with a Gaussian kernel `smoothing`
    bins of the coarser axis wide and isotropic in data units. Their noise is
    Poisson (compound Poisson with weights): the smoothed count of a bin has
    variance sum_j k_j^2 sum_(points in bin j) w^2, largest near the highest bins.

    Args:
        x: sample (N, 2); points outside `range` are dropped.
        bins: bins per axis.
        range: [[x0, x1], [y0, y1]] in data units.
        weights: optional weights (N,) (DCTR).
        smoothing: Gaussian width in bins of the coarser axis (0: none).

    Returns:
        g: smoothed counts (bins, bins), axis 0 the first coordinate.
        sigma: the largest standard deviation of a bin of g, in counts.

    Raises:
        ValueError: on a bad sample, range, bins, weights or smoothing.
    """
    counts, squares = _smoothed(x, bins, range, weights, smoothing)
    return counts, float(np.sqrt(squares.max()))


def _smoothed(
    x: np.ndarray,
    bins: int,
    range: Sequence[Sequence[float]],
    weights: np.ndarray | None,
    smoothing: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed counts g and their Poisson variances, each (bins, bins)."""
    if not smoothing >= 0:
        raise ValueError(f"smoothing must be >= 0, got {smoothing}")
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    counts = histograms.histogram2d(x, bins, range, weights=w)  # (bins, bins)
    squares = counts if w is None else histograms.histogram2d(x, bins, range, w**2)
    if smoothing > 0:
        for axis, k in enumerate(_kernels(bins, range, smoothing)):
            counts = correlate1d(counts, k, axis, mode="constant")
            squares = correlate1d(squares, k**2, axis, mode="constant")
    return counts, squares


def chain_groups(n: int, chains: int, groups: int = GROUPS) -> np.ndarray:
    """Group labels (n,) of the draws of `chains` chains stored iteration-major.

    Draw i belongs to chain i % chains (the order of
    :func:`laser.latent.hmc.sample` and
    :func:`laser.latent.langevin.langevin_sample`); whole chains make the
    groups, chain c in group c % groups. With fewer chains than groups, each
    chain is cut into groups // chains contiguous stretches of its iterations
    (batch means; a single chain: `groups` stretches).

    Examples:
        >>> chain_groups(8, 4, 2).tolist()
        [0, 1, 0, 1, 0, 1, 0, 1]
        >>> chain_groups(8, 1, 4).tolist()
        [0, 0, 1, 1, 2, 2, 3, 3]
    """
    if chains < 1 or groups < 1:
        raise ValueError(f"chains and groups must be >= 1, got {chains}, {groups}")
    i = np.arange(n)
    if chains >= groups:
        return (i % chains) % groups
    per = groups // chains  # stretches of each chain
    steps = -(-n // chains)  # iterations of the longest chain
    return (i % chains) * per + (i // chains) * per // steps


def overdispersion(
    x: np.ndarray,
    bins: int,
    range: Sequence[Sequence[float]],
    groups: int | np.ndarray,
    weights: np.ndarray | None = None,
    smoothing: float = SMOOTHING,
) -> float:
    """The over-dispersion kappa >= 1 of a sample's smoothed histogram.

    The draws fall into K independent groups (whole chains, :func:`chain_groups`;
    or contiguous blocks), group k holding a share f_k of them. Each group's
    smoothed histogram g_k (:func:`histogram`) scatters around its share of the
    total, f_k g, and sum_k (g_k - f_k g)^2 / f_k has expectation (K - 1) kappa
    (V - g^2 / N) in every bin (V the Poisson variance of :func:`histogram`,
    less the part that fixing the group sizes removes; a Pearson chi^2 with
    K - 1 degrees of freedom for independent draws). kappa is the ratio of the
    two, summed over the bins whose V is at least `TOP` of the largest (where
    sigma is taken), and at least 1. The sample weighs like N / kappa
    independent draws (its effective sample size).

    Args:
        x: sample (N, 2).
        bins: bins per axis.
        range: [[x0, x1], [y0, y1]].
        groups: K, the number of contiguous blocks of equal size; or a group
            label of every draw (N,), e.g. :func:`chain_groups`.
        weights: optional weights (N,).
        smoothing: as in :func:`histogram`.

    Returns:
        kappa (1.0 for fewer than two groups or no point in `range`).
    """
    x, n = np.asarray(x), len(x)
    if np.ndim(groups) == 0:
        if int(groups) < 1:
            raise ValueError(f"groups must be >= 1, got {groups}")
        groups = np.arange(n) * int(groups) // max(n, 1)
    labels = np.asarray(groups)
    if labels.shape != (n,):
        raise ValueError(
            f"groups must have shape ({n},) to match x, got {labels.shape}"
        )
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    g, v = _smoothed(x, bins, range, w, smoothing)
    _, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    if len(sizes) < 2 or not v.max() > 0:
        return 1.0
    order = np.argsort(inverse, kind="stable")
    chi2 = np.zeros_like(g)
    for rows, f in zip(np.split(order, np.cumsum(sizes)[:-1]), sizes / n, strict=True):
        gk, _ = _smoothed(
            x[rows], bins, range, None if w is None else w[rows], smoothing
        )
        chi2 += (gk - f * g) ** 2 / f
    top = v >= TOP * v.max()
    iid = (len(sizes) - 1) * (v[top] - g[top] ** 2 / n).sum()
    return float(max(1.0, chi2[top].sum() / iid)) if iid > 0 else 1.0


def diagram(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Persistence pairs of the superlevel filtration of `f` (a cubical complex).

    Args:
        f: values on a 2D grid of bins (bins_x, bins_y).

    Returns:
        (dim0, dim1): arrays (k, 2) of (birth, death) levels, birth >= death,
        for components and holes; the component that never dies has death
        -inf. Pairs of zero persistence are left out.
    """
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"f must be 2D (bins_x, bins_y), got shape {f.shape}")
    cc = gudhi.CubicalComplex(top_dimensional_cells=-f)
    cc.compute_persistence(homology_coeff_field=2, min_persistence=0.0)
    return tuple(
        -cc.persistence_intervals_in_dimension(d).reshape(-1, 2) for d in (0, 1)
    )


def betti_numbers(f: np.ndarray, tau: float, depth: float = 1.0) -> tuple[int, int]:
    """b0 and b1 of `f`: its features with persistence above `tau`, deep enough.

    b0 counts the component that never dies (if `f` is not all zeros) and the
    components that die more than `tau` below their birth; b1 the holes that do.
    A feature must also die at or below `depth` times its birth level: a
    component's saddle at most that fraction of its peak, a hole's inside at
    most that fraction of the lowest point of its rim (module docs).

    Args:
        f: values on a grid (bins_x, bins_y), e.g. a smoothed histogram.
        tau: persistence threshold, in the units of `f`.
        depth: largest death level of a feature as a fraction of its birth
            level, in (0, 1]; 1: every feature above `tau` (every significant
            mode of the density counts as a component).

    Returns:
        (b0, b1).
    """
    if not tau >= 0:
        raise ValueError(f"tau must be >= 0, got {tau}")
    if not 0 < depth <= 1:
        raise ValueError(f"depth must be in (0, 1], got {depth}")
    if not np.any(np.asarray(f) > 0):
        return 0, 0
    dim0, dim1 = diagram(f)
    finite = dim0[np.isfinite(dim0[:, 1])]  # all components but the essential one

    def counted(pairs: np.ndarray) -> int:  # (k, 2) of (birth, death)
        birth, death = pairs[:, 0], pairs[:, 1]
        return int(((birth - death > tau) & (death <= depth * birth)).sum())

    return len(dim0) - len(finite) + counted(finite), counted(dim1)


def threshold(
    truth: np.ndarray,
    truth_test: np.ndarray,
    bins: int,
    range: Sequence[Sequence[float]],
    smoothing: float = SMOOTHING,
) -> float:
    """The persistence threshold T, in noise standard deviations (module docs).

    T = 2 max|g_a - g_b| / sqrt(sigma_a^2 + sigma_b^2): twice the sup-norm
    distance between the smoothed histograms g of two independent truth samples
    a, b (each divided by its total weight), in units of the standard deviation
    of their difference at the noisiest bin (:func:`histogram`). Twice the
    sup-norm distance is the largest persistence that sampling noise can give
    or take from a feature (stability theorem; Cohen-Steiner et al. 2007, Fasy
    et al. 2014).

    Args:
        truth: the truth sample (N, 2).
        truth_test: an independent truth sample (M, 2).
        bins: bins per axis.
        range: [[x0, x1], [y0, y1]].
        smoothing: as in :func:`histogram`.

    Returns:
        T (dimensionless; 4-8 on the paper's 100 x 100 grid).

    Raises:
        ValueError: when a truth sample has no point in `range`.
    """
    (ga, sa), (gb, sb) = (
        histogram(s, bins, range, None, smoothing) for s in (truth, truth_test)
    )
    na, nb = ga.sum(), gb.sum()
    if na == 0 or nb == 0:
        raise ValueError("a truth sample has no point in the histogram range")
    distance = np.abs(ga / na - gb / nb).max()
    return float(2.0 * distance / np.hypot(sa / na, sb / nb))


def betti(
    x: np.ndarray,
    bins: int,
    range: Sequence[Sequence[float]],
    noise_threshold: float,
    weights: np.ndarray | None = None,
    smoothing: float = SMOOTHING,
    groups: int | np.ndarray | None = None,
    depth: float = 1.0,
) -> tuple[int, int]:
    """Betti numbers (b0, b1) of a (weighted) 2D sample (Sec. 2.2).

    Counts the features of the sample's smoothed histogram g whose persistence
    exceeds tau = T sqrt(2) sigma sqrt(kappa): T (from :func:`threshold`)
    standard deviations of the difference of two independent samples with this
    sample's noise sigma (:func:`histogram`), inflated by its over-dispersion
    kappa (:func:`overdispersion`; 1 without `groups`: independent draws).

    Args:
        x: sample (N, 2).
        bins: bins per axis.
        range: [[x0, x1], [y0, y1]].
        noise_threshold: T from :func:`threshold`.
        weights: optional weights (N,).
        smoothing: as in :func:`histogram`.
        groups: the sample's independent groups (:func:`overdispersion`), e.g.
            its chains (:func:`chain_groups`); None: independent draws.
        depth: as in :func:`betti_numbers`.

    Returns:
        (b0, b1).

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> phi = rng.uniform(0, 2 * np.pi, (2, 200_000))
        >>> ring = [np.stack([np.cos(p), np.sin(p)], 1) for p in phi]
        >>> ring = [r * rng.normal(3, 0.3, (200_000, 1)) for r in ring]
        >>> box = [[-4, 4], [-4, 4]]
        >>> betti(ring[0], 50, box, threshold(ring[0], ring[1], 50, box))
        (1, 1)
    """
    if not noise_threshold >= 0:
        raise ValueError(f"noise_threshold must be >= 0, got {noise_threshold}")
    g, sigma = histogram(x, bins, range, weights, smoothing)
    if groups is not None:
        kappa = overdispersion(x, bins, range, groups, weights, smoothing)
        log.info(
            "over-dispersion %.3g: %d draws weigh like %.0f",
            kappa,
            len(x),
            len(x) / kappa,
        )
        sigma *= np.sqrt(kappa)
    return betti_numbers(g, noise_threshold * np.sqrt(2.0) * sigma, depth)
