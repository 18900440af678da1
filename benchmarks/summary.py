"""Gather the benchmark rows into docs/benchmarks/summary.tsv and summary.md.

Reads the TSV files the benchmarks wrote under docs/benchmarks/parts/
(`training.tsv`, `hmc.tsv`, `emd.tsv`), keeps one row per stage and metric
(the EMD's 12 cases condensed to the case with the smallest ratio: time with
the slower of ours' calls, peak memory, relative difference to the dense
value), and writes the summary with the machine it ran on.

Usage: python benchmarks/summary.py [--parts DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from common import REPO, machine

COLUMNS = ["stage", "metric", "ours", "reference", "ratio"]


def emd_rows(df: pd.DataFrame) -> list[dict]:
    """The 12 EMD cases condensed to the case with the smallest ratio per metric."""
    rows = []
    for metric, name in (
        ("time_s_max", "seconds_per_call"),
        ("peak_rss_mb", "peak_rss_mb"),
        ("rel_diff", "rel_diff_to_dense"),
    ):
        part = df[df.metric == metric]
        worst = part.loc[part.ratio.idxmin()]
        rows.append(
            dict(
                stage="evaluate/emd",
                metric=f"{name}_worst_of_{len(part)}",
                ours=worst.ours,
                reference=worst.reference,
                ratio=worst.ratio,
            )
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", type=Path, default=REPO / "docs/benchmarks/parts")
    ap.add_argument("--out", type=Path, default=REPO / "docs/benchmarks")
    args = ap.parse_args()
    frames = []
    for name in ("training", "hmc"):
        path = args.parts / f"{name}.tsv"
        if path.exists():
            frames.append(pd.read_csv(path, sep="\t"))
        else:
            print(f"# missing {path}: run benchmarks/{name}_speed.py --out {path}")
    emd = args.parts / "emd.tsv"
    if emd.exists():
        frames.append(pd.DataFrame(emd_rows(pd.read_csv(emd, sep="\t"))))
    else:
        print(f"# missing {emd}: run benchmarks/emd_speed.py --out {emd}")
    table = pd.concat(frames, ignore_index=True)[COLUMNS]
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "summary.tsv", sep="\t", index=False, float_format="%.6g")
    facts = machine()
    lines = [
        "# Benchmark summary",
        "",
        "Written by `make bench` (benchmarks/summary.py). `ratio` > 1 means ours is",
        "better: ours / reference for rates, reference / ours for seconds and memory.",
        "The reference is the straightforward implementation of the same stage on the",
        "same inputs in the same run (see each benchmark's docstring); the per-case",
        "rows are in `parts/`.",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()) + ".",
        "",
        table.to_markdown(index=False, floatfmt=".4g"),
        "",
    ]
    (args.out / "summary.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
