"""Figures for samples in D dimensions: 1-D marginals with ratios, and corner plots."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from scipy.ndimage import gaussian_filter  # noqa: E402

from laser.methods import label  # noqa: E402

__all__ = [
    "MAX_CORNER_FEATURES",
    "MASS_FRACTIONS",
    "normalised_histogram",
    "contour_levels",
    "marginals_figure",
    "corner_figure",
]

log = logging.getLogger(__name__)

#: Features a corner plot shows at most unless `features` chooses them.
MAX_CORNER_FEATURES = 8
#: Mass of the truth enclosed by the corner plot's contours: 1 - exp(-k^2 / 2),
#: the 1, 2 and 3 sigma regions of a 2-D Gaussian.
MASS_FRACTIONS = (0.39, 0.86, 0.99)
TRUTH_FILL = "0.85"  # light grey
RATIO_RANGE = (0.5, 1.5)
MAX_COLUMNS = 4


def _palette() -> list:
    """The methods' colours, in order (colour-blind safe, without black and grey)."""
    colours = sns.color_palette("colorblind", 10)
    return [c for i, c in enumerate(colours) if i != 7]  # 7 is grey: the truth's


def normalised_histogram(
    x: np.ndarray,
    w: np.ndarray | None,
    bins: int,
    range: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-D histogram normalised to unit integral over `range`, with its
    statistical uncertainty.

    Bin content: the sum of the weights in the bin over (total weight in `range`
    x bin width), so that `sum(h * diff(edges)) == 1`; uncertainty: sqrt of the
    sum of the squared weights in the bin, on the same scale. Weights may be
    negative; a bin's content then may be too. Events outside `range` are left
    out. When the total weight in `range` is not positive the histogram is all
    zeros (logged).

    Args:
        x: values (N,).
        w: weights (N,) or None (all 1).
        bins: number of equal-width bins.
        range: (lo, hi) of the bins.

    Returns:
        (h, err, edges): densities (bins,), their uncertainties (bins,), the
        edges (bins + 1,).

    Examples:
        >>> h, err, edges = normalised_histogram(np.array([0.1, 0.6, 0.7]), None, 2,
        ...                                      (0.0, 1.0))
        >>> h.tolist(), float(h @ np.diff(edges))
        ([0.6666666666666666, 1.3333333333333333], 1.0)
    """
    x = np.asarray(x, dtype=float).ravel()  # (N,)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float).ravel()  # (N,)
    if w.shape != x.shape:
        raise ValueError(f"weights of shape {w.shape} for values of shape {x.shape}")
    edges = np.linspace(range[0], range[1], bins + 1)  # (bins + 1,)
    s, _ = np.histogram(x, edges, weights=w)  # (bins,)
    s2, _ = np.histogram(x, edges, weights=w * w)  # (bins,)
    total = s.sum()
    if not total > 0:
        log.warning(
            "total weight %.3g in range %s: histogram left at zero", total, range
        )
        return np.zeros(bins), np.zeros(bins), edges
    scale = total * np.diff(edges)  # (bins,)
    return s / scale, np.sqrt(s2) / scale, edges


def contour_levels(
    density: np.ndarray, fractions: Sequence[float] = MASS_FRACTIONS
) -> np.ndarray:
    """Density thresholds of the highest-density regions enclosing the given
    fractions of a histogram's mass (equal-area bins).

    The threshold for fraction p is the content of the last bin taken when the
    bins are taken in decreasing content until their sum reaches p of the total.
    Negative bins (negative weights) count as empty.

    Args:
        density: bin contents, any shape.
        fractions: enclosed fractions in (0, 1].

    Returns:
        The thresholds, increasing and distinct (so, for increasing fractions, in
        reverse order; fewer if some coincide); empty for an empty histogram.

    Examples:
        >>> contour_levels(np.array([[4.0, 3.0], [2.0, 1.0]]), (0.4, 0.7, 0.9))
        array([2., 3., 4.])
    """
    p = np.clip(np.asarray(density, dtype=float).ravel(), 0.0, None)
    if not p.sum() > 0:
        return np.zeros(0)
    p = np.sort(p)[::-1]  # decreasing
    cum = np.cumsum(p) / p.sum()
    idx = np.searchsorted(cum, np.asarray(fractions) - 1e-12)
    levels = p[np.minimum(idx, p.size - 1)]
    return np.unique(levels[levels > 0])


def _weights(w: np.ndarray | None, n: int) -> np.ndarray | None:
    if w is None:
        return None
    w = np.asarray(w, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"weights of shape {w.shape} for {n} events")
    return w


def _columns(x: np.ndarray, d: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    x = x.reshape(-1, 1) if x.ndim == 1 else x  # (N, D)
    if x.shape[1] != d:
        raise ValueError(f"sample of shape {x.shape} for {d} features")
    return x


def _log_flags(log_scale: bool | Sequence[bool] | None, d: int) -> list[bool]:
    if log_scale is None or isinstance(log_scale, bool):
        return [bool(log_scale)] * d
    if len(log_scale) != d:
        raise ValueError(f"{len(log_scale)} log-scale flags for {d} features")
    return [bool(f) for f in log_scale]


def _ratio(
    ax: plt.Axes, h: np.ndarray, h_t: np.ndarray, edges: np.ndarray, colour: object
) -> None:
    """Draw h / h_t clamped to RATIO_RANGE, with triangles where it is outside."""
    lo, hi = RATIO_RANGE
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(h_t > 0, h / h_t, np.nan)  # (bins,)
    ax.stairs(np.clip(r, lo, hi), edges, color=colour, lw=1.0, baseline=None)
    centres = (edges[:-1] + edges[1:]) / 2
    for mask, y, marker in ((r > hi, hi, "^"), (r < lo, lo, "v")):
        if mask.any():
            ax.plot(centres[mask], np.full(mask.sum(), y), marker, color=colour,
                    ms=3, ls="none", clip_on=False)  # fmt: skip


def marginals_figure(
    truth: np.ndarray,
    samples: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
    names: Sequence[str],
    ranges: Sequence[tuple[float, float]],
    bins: int = 50,
    truth_weights: np.ndarray | None = None,
    log_scale: bool | Sequence[bool] | None = None,
) -> plt.Figure:
    """The D 1-D marginals of the truth and of every method, with their ratios.

    One pair of panels per feature, in a grid of at most 4 columns: on top the
    normalised histograms (:func:`normalised_histogram`), the truth filled light
    grey with a black outline, each method a step line in its colour (fixed
    palette, in the order of `samples`); below, the ratio method / truth, with
    the truth's relative statistical uncertainty as a grey band around 1. The
    ratio axis spans [0.5, 1.5]; a bin outside it is drawn at the edge with a
    triangle pointing out, a bin where the truth is not positive is left out.
    One legend, above the grid. The figure has exactly 2 D axes.

    Args:
        truth: truth events (N, D) (or (N,) for D = 1).
        samples: method name -> (events (M, D), weights (M,) or None).
        names: the D feature names (x-axis labels).
        ranges: the D (lo, hi) of the histograms.
        bins: bins per histogram.
        truth_weights: weights of the truth (N,) or None.
        log_scale: log y axis of the histograms: one flag for all features, one
            per feature, or None (linear).
    """
    d = len(names)
    if len(ranges) != d:
        raise ValueError(f"{len(ranges)} ranges for {d} features")
    truth = _columns(truth, d)  # (N, D)
    truth_weights = _weights(truth_weights, len(truth))
    samples = {
        m: (_columns(x, d), _weights(w, len(x))) for m, (x, w) in samples.items()
    }
    flags = _log_flags(log_scale, d)
    colours = dict(zip(samples, _palette() * (1 + len(samples) // 9), strict=False))

    sns.set_theme(style="ticks", context="paper")
    ncols = min(d, MAX_COLUMNS)
    nrows = math.ceil(d / ncols)
    fig = plt.figure(figsize=(3.2 * ncols, 3.3 * nrows + 0.4), layout="constrained")
    outer = fig.add_gridspec(nrows, ncols)
    for k in range(d):
        cell = outer[k // ncols, k % ncols].subgridspec(
            2, 1, height_ratios=[3, 1], hspace=0.0
        )
        ax = fig.add_subplot(cell[0])
        ax_r = fig.add_subplot(cell[1], sharex=ax)
        h_t, err_t, edges = normalised_histogram(
            truth[:, k], truth_weights, bins, ranges[k]
        )
        ax.stairs(h_t, edges, fill=True, color=TRUTH_FILL, gid="truth_fill")
        ax.stairs(h_t, edges, color="k", lw=1.0, gid="truth")
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(h_t > 0, err_t / h_t, np.nan)  # (bins,)
        ax_r.stairs(1 + rel, edges, baseline=1 - rel, fill=True, color=TRUTH_FILL)
        ax_r.axhline(1.0, color="k", lw=0.8)
        lows = [0.0]
        for m, (x, w) in samples.items():
            h, _, _ = normalised_histogram(x[:, k], w, bins, ranges[k])
            lows.append(h.min())
            ax.stairs(h, edges, color=colours[m], lw=1.2, gid=m)
            _ratio(ax_r, h, h_t, edges, colours[m])
        if flags[k]:
            ax.set_yscale("log")
        elif min(h_t.min(), *lows) >= 0:
            ax.set_ylim(bottom=0.0)
        ax.set_xlim(*ranges[k])
        ax.tick_params(labelbottom=False)
        ax.set_ylabel("normalised" if k % ncols == 0 else "")
        ax_r.set_ylim(*RATIO_RANGE)
        ax_r.set_yticks([0.5, 1.0, 1.5])
        ax_r.set_xlabel(names[k])
        ax_r.set_ylabel("/ truth" if k % ncols == 0 else "")
    handles = [Patch(facecolor=TRUTH_FILL, edgecolor="k", label=label("truth"))]
    handles += [Line2D([], [], color=colours[m], label=label(m)) for m in samples]
    fig.legend(handles=handles, loc="outside upper center", ncols=min(len(handles), 6))
    return fig


def _hist2d(
    x: np.ndarray,
    w: np.ndarray | None,
    bins: int,
    rng: Sequence[tuple[float, float]],
    smooth: float,
) -> np.ndarray:
    """2-D density normalised to unit mass in `rng`, smoothed; (bins_y, bins_x)."""
    s, ex, ey = np.histogram2d(x[:, 0], x[:, 1], bins=bins, range=rng, weights=w)
    total = s.sum()
    if not total > 0:
        return np.zeros((bins, bins))
    if smooth > 0:
        s = gaussian_filter(s, smooth, mode="constant")
    area = np.diff(ex)[0] * np.diff(ey)[0]
    return (s / (total * area)).T


def corner_figure(
    truth: np.ndarray,
    sample: np.ndarray,
    names: Sequence[str],
    ranges: Sequence[tuple[float, float]],
    bins: int = 40,
    truth_weights: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    method: str = "method",
    features: Sequence[int] | None = None,
    smooth: float = 1.0,
    colour: str | None = None,
) -> plt.Figure:
    """Corner plot of one method against the truth.

    With K shown features, a K x K grid of which the K (K + 1) / 2 panels on and
    below the diagonal exist (the upper triangle is left empty, no axes):

    - diagonal: the normalised 1-D histograms (:func:`normalised_histogram`),
      the truth filled light grey with a black outline, the method a line (the
      ratios are on :func:`marginals_figure`);
    - below: the pair densities (feature of the column on x, of the row on y),
      the truth as filled grey contours, the method as line contours at the same
      density levels, those whose regions enclose 39 %, 86 % and 99 % of the
      truth's mass (:func:`contour_levels`). Both 2-D histograms are smoothed
      alike by a Gaussian of `smooth` bins.

    For D = 1 it is the single 1-D panel. Only the first 8 features
    (`MAX_CORNER_FEATURES`) are shown unless `features` chooses which (any
    number; beyond about 10 the panels get small).

    Args:
        truth: truth events (N, D) (or (N,) for D = 1).
        sample: the method's events (M, D).
        names: the D feature names.
        ranges: the D (lo, hi) of the histograms.
        bins: bins per axis.
        truth_weights: weights of the truth (N,) or None.
        weights: weights of the method's events (M,) or None.
        method: the method's name (legend).
        features: indices of the features to show, or None (the first 8).
        smooth: width of the Gaussian smoothing of the 2-D histograms, in bins
            (0: none).
        colour: the method's colour, or None (the first of the palette).
    """
    d = len(names)
    if len(ranges) != d:
        raise ValueError(f"{len(ranges)} ranges for {d} features")
    truth = _columns(truth, d)  # (N, D)
    sample = _columns(sample, d)  # (M, D)
    truth_weights = _weights(truth_weights, len(truth))
    weights = _weights(weights, len(sample))
    if features is None:
        features = list(range(min(d, MAX_CORNER_FEATURES)))
        if d > MAX_CORNER_FEATURES:
            log.info("corner plot of the first %d of %d features", len(features), d)
    features = [int(f) for f in features]
    if not features or any(not 0 <= f < d for f in features):
        raise ValueError(f"features {features} for {d} features")
    colour = colour or _palette()[0]

    sns.set_theme(style="ticks", context="paper")
    k = len(features)
    size = max(2.0, min(2.4, 16 / k))
    fig, axes = plt.subplots(k, k, figsize=(size * k + 0.4, size * k + 0.4),
                             squeeze=False, layout="constrained")  # fmt: skip
    for i, fi in enumerate(features):
        for j, fj in enumerate(features):
            ax = axes[i, j]
            if j > i:
                ax.remove()
                continue
            if i == j:
                h_t, _, edges = normalised_histogram(
                    truth[:, fi], truth_weights, bins, ranges[fi]
                )
                h, _, _ = normalised_histogram(sample[:, fi], weights, bins, ranges[fi])
                ax.stairs(h_t, edges, fill=True, color=TRUTH_FILL, gid="truth_fill")
                ax.stairs(h_t, edges, color="k", lw=1.0, gid="truth")
                ax.stairs(h, edges, color=colour, lw=1.2, gid=method)
                ax.set_yticks([])
            else:
                rng = [ranges[fj], ranges[fi]]
                cols = [fj, fi]
                t = _hist2d(truth[:, cols], truth_weights, bins, rng, smooth)
                s = _hist2d(sample[:, cols], weights, bins, rng, smooth)
                cx, cy = (np.linspace(*r, bins + 1) for r in rng)
                cx, cy = (cx[:-1] + cx[1:]) / 2, (cy[:-1] + cy[1:]) / 2
                levels = contour_levels(t)
                if levels.size:
                    top = max(t.max(), levels[-1]) * (1 + 1e-9)
                    greys = plt.get_cmap("Greys")(np.linspace(0.25, 0.65, levels.size))
                    ax.contourf(cx, cy, t, [*levels, top], colors=greys)
                    shown = levels[(levels > s.min()) & (levels < s.max())]
                    if shown.size:
                        ax.contour(cx, cy, s, shown, colors=[colour], linewidths=1.0)
                ax.set_ylim(*ranges[fi])
                if j == 0:
                    ax.set_ylabel(names[fi])
                else:
                    ax.tick_params(labelleft=False)
            ax.set_xlim(*ranges[fj])
            if i == k - 1:
                ax.set_xlabel(names[fj])
            else:
                ax.tick_params(labelbottom=False)
            ax.locator_params(axis="x" if i == j else "both", nbins=4)
    handles = [
        Patch(facecolor=TRUTH_FILL, edgecolor="k", label=label("truth")),
        Line2D([], [], color=colour, label=label(method)),
    ]
    if k == 1:
        axes[0, 0].legend(handles=handles, fontsize="small")
    else:
        fig.legend(handles=handles, loc="upper right", fontsize="large")
    return fig
