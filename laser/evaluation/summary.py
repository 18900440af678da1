"""The first look at a study: its scores beside the paper's and its figures in
one self-contained HTML fragment, which the report's landing page shows first
(report/workflow.rst)."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping

import pandas as pd

from laser.methods import label, method_rank

__all__ = ["headline", "events_headline", "to_html"]


def _pair(emd: float, jsd: float) -> str:
    if math.isnan(emd) or math.isnan(jsd):
        return ""
    return f"{emd:.3g} / {jsd:.3g}"


def headline(table: pd.DataFrame, convention: str = "paper") -> pd.DataFrame:
    """EMD / JSD per dataset (rows) and method (columns) of a Table 3
    (:func:`laser.evaluation.scores.table3`) in one convention, the noise floor
    first and the paper's values in brackets where it has them.

    Examples:
        >>> t = pd.DataFrame({
        ...     "dataset": ["rings"] * 2, "method": ["truth", "hmc"],
        ...     "convention": ["paper"] * 2, "emd": [0.006, 0.036],
        ...     "jsd": [0.016, 0.048], "paper_emd": [float("nan"), 0.137],
        ...     "paper_jsd": [float("nan"), 0.07]})
        >>> h = headline(t)
        >>> list(h.columns), h.at[0, "noise floor"]
        (['dataset', 'noise floor', 'HMC'], '0.006 / 0.016')
        >>> h.at[0, "HMC"]
        '0.036 / 0.048 (0.137 / 0.07)'
    """
    if table.empty or convention not in set(table["convention"]):
        raise ValueError(f"the table has no rows of convention {convention!r}")
    rows = table[table["convention"] == convention]
    methods = sorted(set(rows["method"]) - {"truth"}, key=method_rank)
    out = []
    for dataset, group in rows.groupby("dataset", sort=False):
        by = group.drop_duplicates("method").set_index("method")
        row = {"dataset": dataset}
        if "truth" in by.index:
            row["noise floor"] = _pair(by.at["truth", "emd"], by.at["truth", "jsd"])
        for m in methods:
            if m not in by.index:
                row[label(m)] = ""
                continue
            cell = _pair(by.at[m, "emd"], by.at[m, "jsd"])
            paper = _pair(by.at[m, "paper_emd"], by.at[m, "paper_jsd"])
            row[label(m)] = f"{cell} ({paper})" if paper else cell
        out.append(row)
    return pd.DataFrame(out)


def events_headline(summary: pd.DataFrame) -> pd.DataFrame:
    """The scores of datasets of events (:func:`laser.evaluation.events.summarise`)
    as one row per dataset and metric: the noise floor, then each method's score
    (means over features; 3 significant digits).

    Examples:
        >>> s = pd.DataFrame({"dataset": ["z"] * 2, "method": ["truth", "hmc"],
        ...     "metric": ["w1"] * 2, "value": [0.01, 0.02], "floor": [0.01] * 2})
        >>> events_headline(s).to_dict("records")
        [{'dataset': 'z', 'metric': 'w1', 'noise floor': '0.01', 'HMC': '0.02'}]
    """
    methods = sorted(set(summary["method"]) - {"truth"}, key=method_rank)
    out = []
    for (dataset, metric), group in summary.groupby(["dataset", "metric"], sort=False):
        by = group.set_index("method")["value"]
        row = {"dataset": dataset, "metric": metric}
        row["noise floor"] = f"{by['truth']:.3g}" if "truth" in by.index else ""
        for m in methods:
            row[label(m)] = f"{by[m]:.3g}" if m in by.index else ""
        out.append(row)
    return pd.DataFrame(out)


def to_html(
    table: pd.DataFrame | None,
    figures: Mapping[str, bytes],
    convention: str = "paper",
    events: pd.DataFrame | None = None,
    seeds: str | None = None,
) -> str:
    """The landing page's fragment: the :func:`headline` table of the toys (None:
    no toys), the :func:`events_headline` table of the datasets of events (None:
    none), the Markdown table of a study over seeds
    (:func:`laser.evaluation.seeds.markdown`; None: one seed), then each
    dataset's figure (PNG bytes), embedded, so that it stands alone.

    Examples:
        >>> t = pd.DataFrame({
        ...     "dataset": ["rings"], "method": ["hmc"], "convention": ["paper"],
        ...     "emd": [0.036], "jsd": [0.048], "paper_emd": [0.137],
        ...     "paper_jsd": [0.07]})
        >>> page = to_html(t, {"rings": b"PNG"})
        >>> 'id="laser-summary"' in page, page.count("<img")
        (True, 1)
    """
    parts = [
        # Snakemake's report centres its page vertically, which puts the top of a
        # page taller than the window out of reach: start it at the top instead
        "<style>.h-screen.overflow-auto.items-center"
        " {align-items: flex-start; justify-content: flex-start}</style>",
        '<section id="laser-summary" style="width: min(calc(100vw - 22rem), 1500px)">',
        "<h2>Scores</h2>",
    ]
    if table is not None:
        head = headline(table, convention)
        parts += [
            f"<p>EMD / JSD against an independent truth sample"
            f" ({html.escape(convention)} convention, arXiv:2106.00792 Sec. 4.2); in"
            " brackets the paper's Table 3; the noise floor is truth against a second"
            " truth sample. Lower is better. Every column, both conventions and the"
            " Betti numbers: results/table3.md.</p>",
            head.to_html(index=False, border=0, classes="laser-scores", escape=True),
        ]
    if events is not None:
        parts += [
            "<p>Datasets of events, in D dimensions: each score averaged over the"
            " features (w1, jsd) or feature pairs (emd2d, jsd2d), or over all"
            " features at once (fpd, kpd, and auc, which is 0.5 where a classifier"
            " cannot tell the method from the truth); the noise floor is a second"
            " truth sample. Per feature, with errors: results/{dataset}/scores.tsv."
            "</p>",
            events_headline(events).to_html(
                index=False, border=0, classes="laser-scores", escape=True
            ),
        ]
    if seeds is not None:
        parts += [
            "<h3>Over seeds</h3>",
            "<p>Mean ± standard deviation over the seeds (config key seeds), the"
            " ratios of the means to the noise floor's and the Betti numbers of"
            " every seed: results/table3_seeds.md.</p>",
            f"<pre>{html.escape(seeds)}</pre>",
        ]
    parts.append("<h2>Figures</h2>")
    for dataset, png in figures.items():
        data = base64.b64encode(png).decode("ascii")
        name = html.escape(dataset)
        parts += [
            f'<figure id="figure-{name}" style="margin: 1em 0">',
            f'<img alt="{name}" src="data:image/png;base64,{data}"'
            ' style="width: 100%; height: auto">',
            f"<figcaption>{name}: truth and each method in feature space (top)"
            " and latent space (bottom), or for events each feature's distribution"
            " with its ratio to the truth</figcaption>",
            "</figure>",
        ]
    parts.append("</section>")
    return "\n".join(parts) + "\n"
