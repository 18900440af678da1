"""A study over seeds (config key ``seeds``): every score's mean and standard
deviation over the replicas of a dataset, and its Betti numbers seed by seed.

The workflow runs replica k of dataset ``rings`` under the name ``rings.seed<k>``
(:func:`laser.seeding.replica`): its own data, networks and chains. The tables
of the replicas (Table 3 of the toys, :func:`laser.evaluation.scores.table3`;
the scores of datasets of events, :func:`laser.evaluation.events.summarise`)
are folded here into one row per dataset, method and convention (or metric):

- each score column ``c``: ``c`` the mean over seeds and ``c_sd`` the sample
  standard deviation (ddof 1; empty for one seed);
- ``emd_over_floor`` / ``jsd_over_floor`` (toys) or ``over_floor`` (events): the
  mean score over the mean noise floor, the figure the precision targets use;
- each Betti column: the numbers of the seeds in seed order, e.g. ``"3 3 4"``,
  and ``betti_ok``: in how many seeds (b0, b1) equals the truth's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from laser.methods import label, method_rank
from laser.seeding import split

__all__ = ["over_seeds", "markdown"]

#: Betti columns: listed per seed, not averaged.
BETTI = ["b0", "b1", "latent_b0", "latent_b1"]
#: Columns that are the same in every seed (the paper's values, the truth's).
FIXED = ["paper_emd", "paper_jsd", "true_b0", "true_b1"]


def _per_seed(values: pd.Series) -> str:
    return " ".join("-" if pd.isna(v) else str(int(v)) for v in values)


def over_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """Fold a table of replicas (column ``dataset`` holding replica names) into
    one row per dataset and method (and ``convention`` or ``metric`` where the
    table has one): see the module docstring for the columns.

    Examples:
        >>> t = pd.DataFrame({"dataset": ["a", "a.seed2"], "method": ["hmc"] * 2,
        ...     "emd": [1.0, 3.0], "floor_emd": [1.0, 1.0], "b0": [2, 3],
        ...     "true_b0": [2, 2], "b1": [0, 0], "true_b1": [0, 0]})
        >>> r = over_seeds(t).iloc[0].to_dict()
        >>> [float(r[c]) for c in ("seeds", "emd", "emd_sd", "emd_over_floor")]
        [2.0, 2.0, 1.4142135623730951, 2.0]
        >>> r["b0"], int(r["betti_ok"])
        ('2 3', 1)
    """
    if table.empty:
        raise ValueError("no rows to fold over seeds")
    df = table.copy()
    parts = df["dataset"].map(split)
    df["dataset"], df["seed"] = parts.str[0], parts.str[1]
    df = df.sort_values("seed", kind="stable")
    keys = ["dataset", "method"] + [c for c in ("convention", "metric") if c in df]
    betti = [c for c in BETTI if c in df]
    fixed = [c for c in FIXED if c in df]
    scores = [
        c
        for c in df.columns
        if c not in {*keys, *betti, *fixed, "seed"}
        and pd.api.types.is_numeric_dtype(df[c])
    ]
    rows = []
    for key, g in df.groupby(keys, sort=False):
        row = dict(zip(keys, key, strict=True))
        row["seeds"] = len(g)
        for c in scores:
            row[c] = g[c].mean()
            row[f"{c}_sd"] = g[c].std(ddof=1) if len(g) > 1 else np.nan
        for a, b in (("emd", "floor_emd"), ("jsd", "floor_jsd"), ("value", "floor")):
            if a in g and b in g:
                name = "over_floor" if a == "value" else f"{a}_over_floor"
                row[name] = g[a].mean() / g[b].mean()
        for c in fixed:
            row[c] = g[c].iloc[0]
        for c in betti:
            row[c] = _per_seed(g[c])
        if {"b0", "b1", "true_b0", "true_b1"} <= set(g):
            ok = (g["b0"] == g["true_b0"]) & (g["b1"] == g["true_b1"])
            row["betti_ok"] = int(ok.sum())
        rows.append(row)
    out = pd.DataFrame(rows)
    out["_rank"] = out["method"].map(method_rank)
    order = ["dataset"] + [c for c in ("convention", "metric") if c in out]
    out = out.sort_values([*order, "_rank"], kind="stable").drop(columns="_rank")
    return out.reset_index(drop=True)


def _pm(mean: float, sd: float) -> str:
    if pd.isna(mean):
        return ""
    return f"{mean:.3g}" if pd.isna(sd) else f"{mean:.3g} ± {sd:.2g}"


def markdown(folded: pd.DataFrame, convention: str = "paper") -> str:
    """The folded Table 3 (:func:`over_seeds` of Table 3) in one convention as
    Markdown: mean ± sd of EMD and JSD, their ratios to the noise floor and the
    Betti numbers per seed (truth in the header of each dataset's rows)."""
    rows = (
        folded[folded["convention"] == convention] if "convention" in folded else folded
    )
    out = []
    for r in rows.itertuples(index=False):
        d = r._asdict()
        true = (
            f" (truth {int(d['true_b0'])}, {int(d['true_b1'])})"
            if "true_b0" in d and not pd.isna(d["true_b0"])
            else ""
        )
        out.append(
            {
                "dataset": d["dataset"] + true,
                "method": "noise floor"
                if d["method"] == "truth"
                else label(d["method"]),
                "seeds": d["seeds"],
                "EMD": _pm(d["emd"], d["emd_sd"]),
                "JSD": _pm(d["jsd"], d["jsd_sd"]),
                "EMD / floor": f"{d['emd_over_floor']:.2f}",
                "JSD / floor": f"{d['jsd_over_floor']:.2f}",
                "b0 per seed": d.get("b0", ""),
                "b1 per seed": d.get("b1", ""),
                "latent b0": d.get("latent_b0", ""),
            }
        )
    return pd.DataFrame(out).to_markdown(index=False) + "\n"
