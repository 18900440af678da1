"""Record a finished workflow run under docs/: table, figures, config, commit, timings.

Copies `results/table3.{tsv,md}` and `results/{dataset}/figure.png` of a run
directory, the config file(s) it ran with, and gathers the per-job wall time and
peak memory that Snakemake's `benchmark:` files hold into `timings.tsv` (rule,
dataset, seconds, max_rss_mb), with the sum over jobs, the first-job-start to
last-job-end span, and the commit, into `run.md`.

Usage: python benchmarks/record_run.py RUN_DIR OUT_DIR --config FILE [--commit SHA]
       [--wall SECONDS]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pandas as pd


def timings(run: Path) -> pd.DataFrame:
    """One row per job from RUN/benchmarks/{rule}/{dataset}.tsv."""
    rows = []
    for path in sorted((run / "benchmarks").glob("*/*.tsv")):
        bench = pd.read_csv(path, sep="\t")
        rows.append(
            dict(
                rule=path.parent.name,
                dataset=path.stem,
                seconds=float(bench["s"].iloc[0]),
                max_rss_mb=float(bench["max_rss"].iloc[0]),
            )
        )
    return pd.DataFrame(rows, columns=["rule", "dataset", "seconds", "max_rss_mb"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--config", type=Path, action="append", default=[])
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--wall", type=float, help="wall seconds of the whole run")
    args = ap.parse_args()
    out = args.out
    (out / "figures").mkdir(parents=True, exist_ok=True)
    for name in ("table3.tsv", "table3.md"):
        shutil.copy(args.run / "results" / name, out / name)
    for png in sorted((args.run / "results").glob("*/figure.png")):
        shutil.copy(png, out / "figures" / f"{png.parent.name}.png")
    for png in sorted((args.run / "results").glob("*/weights/diagnostics.png")):
        shutil.copy(png, out / "figures" / f"{png.parent.parent.name}_weights.png")
    for cfg in args.config:
        shutil.copy(cfg, out / cfg.name)
    t = timings(args.run)
    t.to_csv(out / "timings.tsv", sep="\t", index=False, float_format="%.1f")
    per_rule = t.pivot_table(
        index="rule", columns="dataset", values="seconds", aggfunc="sum"
    )
    lines = [
        "# Run record",
        "",
        f"Commit: {args.commit}. Config: "
        + ", ".join(f"`{c.name}`" for c in args.config)
        + " (merged over config.yaml of that commit).",
        "",
        f"Jobs: {len(t)}; sum of job wall times {t.seconds.sum() / 60:.1f} min"
        + (
            f"; whole run, wall: {args.wall / 60:.1f} min"
            if args.wall is not None
            else ""
        )
        + ".",
        "",
        "Wall seconds per rule and dataset (Snakemake `benchmark:` files):",
        "",
        per_rule.to_markdown(floatfmt=".0f"),
        "",
    ]
    (out / "run.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
