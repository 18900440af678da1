"""The paper's figure grid (Figs. 3-5): feature-space and latent-space histograms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from laser.data.toys import TOYS  # noqa: E402
from laser.methods import label
from laser.seeding import split

__all__ = ["Panel", "title", "figure_grid", "weight_figure"]


def title(dataset: str) -> str:
    """Figure title: the dataset and the true Betti numbers of its support."""
    b0, b1 = TOYS[split(dataset)[0]].betti
    return f"{dataset.replace('_', ' ')}: true Betti numbers b0 = {b0}, b1 = {b1}"


@dataclass(frozen=True)
class Panel:
    """One column of the grid.

    Attributes:
        method: method name (`truth`, `baseline`, `hmc`, `laser`, `dctr`, ...).
        x: data-space points (N, D); the first two columns are shown.
        z: latent points (N, D) or None (no latent panel, as for the truth).
        w: optional weights (N,) (DCTR).
        betti: measured Betti numbers (b0, b1) of `x`, shown in the panel title,
            or None.
        latent_betti: the same for `z`, or None.
    """

    method: str
    x: np.ndarray
    z: np.ndarray | None = None
    w: np.ndarray | None = None
    betti: tuple[int, int] | None = None
    latent_betti: tuple[int, int] | None = None


def _betti_text(betti: tuple[int, int] | None) -> str:
    return "" if betti is None else f"b0 = {betti[0]}, b1 = {betti[1]}"


def _hist(
    points: np.ndarray, w: np.ndarray | None, bins: int, rng: Sequence[Sequence[float]]
) -> np.ndarray:
    h, _, _ = np.histogram2d(
        points[:, 0], points[:, 1], bins=bins, range=rng, weights=w, density=True
    )
    return h.T  # (bins_y, bins_x) for pcolormesh


def figure_grid(
    panels: Sequence[Panel],
    x_range: Sequence[Sequence[float]],
    z_range: Sequence[Sequence[float]],
    bins: int = 100,
    title: str = "",
) -> plt.Figure:
    """Draw the paper's grid: one column per method, feature space on top, latent
    space below, on a common colour scale per row (arXiv:2106.00792, Figs. 3-5).

    Panel titles give the method and the Betti numbers measured in its panel
    where the panel has them (see `laser.evaluation.topology`); the figure
    title, the true ones (:func:`title`).

    Args:
        panels: the columns, in order.
        x_range: [[x0, x1], [y0, y1]] of the feature-space histograms.
        z_range: the same for the latent space.
        bins: bins per axis.
        title: figure title (dataset and true Betti numbers).
    """
    sns.set_theme(style="white", context="paper")
    n = len(panels)
    fig, axes = plt.subplots(2, n, figsize=(2.4 * n, 5.2), squeeze=False)
    top = [_hist(p.x, p.w, bins, x_range) for p in panels]
    low = [None if p.z is None else _hist(p.z, p.w, bins, z_range) for p in panels]
    # Colour scales: 1.2 x the first panel's maximum in each row (the truth above,
    # the first latent panel below), so that one collapsed method saturates
    # instead of washing out the others.
    vmax_top = 1.2 * top[0].max()
    vmax_low = 1.2 * next((h.max() for h in low if h is not None), 1.0)
    xe = [np.linspace(*x_range[i], bins + 1) for i in (0, 1)]
    ze = [np.linspace(*z_range[i], bins + 1) for i in (0, 1)]
    cmap = sns.color_palette("viridis", as_cmap=True)
    for i, p in enumerate(panels):
        ax = axes[0, i]
        ax.pcolormesh(*xe, top[i], vmin=0, vmax=vmax_top, cmap=cmap, rasterized=True)
        ax.set_title("\n".join(filter(None, [label(p.method), _betti_text(p.betti)])))
        ax.set_xticks([])
        ax.set_yticks([])
        ax = axes[1, i]
        if low[i] is None:
            ax.axis("off")
            continue
        ax.pcolormesh(*ze, low[i], vmin=0, vmax=vmax_low, cmap=cmap, rasterized=True)
        ax.set_title(_betti_text(p.latent_betti))
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("Feature space")
    first_latent = next((i for i, h in enumerate(low) if h is not None), 0)
    axes[1, first_latent].set_ylabel("Latent space")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def weight_figure(
    log_w: np.ndarray,
    curve: pd.DataFrame,
    summary: pd.Series,
    log_w_exact: np.ndarray | None = None,
    title: str = "",
) -> plt.Figure:
    """Diagnostics of the DCTR weights (arXiv:2106.00792, Sec. 3) in one row.

    Left: histogram of the learned log-weights of the baseline's sample, with
    the exact ones where known, and Kish's effective sample sizes. Middle: the
    classifier's calibration curve on held-out points (observed fraction of
    data against mean predicted f, the diagonal is perfect calibration), with
    the points per bin. Right, where the exact weights are known: learned
    against exact log-weight at the same points (2D histogram, log colour
    scale), with their correlation and mean absolute difference.

    Args:
        log_w: learned log-weights (N,).
        curve: calibration curve (:func:`laser.evaluation.weights.calibration_curve`).
        summary: the row of :func:`laser.evaluation.weights.summary` (ESS, errors).
        log_w_exact: exact log-weights (N,) at the same points, or None.
        title: figure title.
    """
    sns.set_theme(style="whitegrid", context="paper")
    exact = log_w_exact is not None
    fig, axes = plt.subplots(1, 3 if exact else 2, figsize=(12 if exact else 8, 3.8))
    both = np.concatenate([log_w, log_w_exact]) if exact else np.asarray(log_w)
    lo, hi = np.quantile(both, [0.0005, 0.9995])
    lo, hi = min(lo, -0.5), max(hi, 0.5)
    edges = np.linspace(lo, hi, 81)

    ax = axes[0]
    ess = f"Kish ESS {summary['ess']:.3g} N"
    ax.hist(
        np.clip(log_w, lo, hi),
        edges,
        histtype="stepfilled",
        alpha=0.6,
        label=f"learned ({ess})",
    )
    if exact:
        ax.hist(
            np.clip(log_w_exact, lo, hi),
            edges,
            histtype="step",
            color="k",
            label=f"exact (ESS {summary['ess_exact']:.3g} N)",
        )
    ax.set_yscale("log")
    ax.set_xlabel("log w (first and last bins: overflow)")
    ax.set_ylabel("points")
    ax.set_title("Weights of the baseline sample")
    ax.legend(fontsize="small")

    ax = axes[1]
    ok = curve["observed"].notna()
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--", label="calibrated")
    ax.plot(
        curve.loc[ok, "f_mean"],
        curve.loc[ok, "observed"],
        "o-",
        ms=3,
        label=f"classifier (ECE {summary['calibration_error']:.3g})",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted f = sigmoid(logit)")
    ax.set_ylabel("observed fraction of data")
    ax.set_title("Calibration on held-out points")
    ax.legend(loc="upper left", fontsize="small")
    counts = ax.twinx()
    centres = (curve["f_lo"] + curve["f_hi"]) / 2
    width = curve["f_hi"] - curve["f_lo"]
    counts.bar(
        centres, curve["n_data"] + curve["n_generated"], width, alpha=0.15, color="C1"
    )
    counts.set_yscale("log")
    counts.set_ylim(0.8, 5 * max(1, (curve["n_data"] + curve["n_generated"]).max()))
    counts.set_ylabel("points per bin", color="C1")
    counts.grid(False)
    ax.set_zorder(counts.get_zorder() + 1)  # the curve above the bars
    ax.patch.set_visible(False)

    if exact:
        ax = axes[2]
        _, _, _, image = ax.hist2d(
            np.clip(log_w_exact, lo, hi),
            np.clip(log_w, lo, hi),
            [edges, edges],
            norm=LogNorm(),
            cmap="viridis",
            rasterized=True,
        )
        ax.plot([lo, hi], [lo, hi], color="0.4", lw=1, ls="--", label="equal")
        ax.legend(loc="lower right", fontsize="small")
        ax.set_xlabel("exact log w* = log p_data - log p_g")
        ax.set_ylabel("learned log w = logit")
        ax.set_title(
            f"corr {summary['log_w_corr']:.3f}, mean |diff| {summary['log_w_mad']:.3g}"
        )
        fig.colorbar(image, ax=ax, label="points")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
