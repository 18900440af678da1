"""Removing the saved progress of the jobs that completed, when a run of the
workflow ends (``onsuccess`` and ``onerror`` in the Snakefile; see
:mod:`laser.progress`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from laser import progress

__all__ = ["saved_jobs", "completed", "clear_completed"]


def saved_jobs(root: Path = progress.ROOT) -> list[tuple[str, dict[str, str], Path]]:
    """(rule, wildcards, directory) of each job with a progress directory under
    `root` (the inverse of :meth:`laser.progress.Progress.directory_of`)."""
    jobs = []
    for directory in sorted(root.glob("*/*")):
        if not directory.is_dir():
            continue
        name = directory.name
        pairs = [] if name == "all" else [kv.split("=", 1) for kv in name.split(",")]
        if all(len(kv) == 2 for kv in pairs):
            jobs.append((directory.parent.name, dict(pairs), directory))
    return jobs


def completed(directory: Path, outputs: Iterable[str | os.PathLike]) -> bool:
    """Whether the job of `directory` completed after its last save: each of its
    `outputs` exists and is newer than every save (a job writes its outputs
    after its loops' last saves, and Snakemake removes the outputs of a job that
    failed, also one stopped after writing them)."""
    saves = [p.stat().st_mtime_ns for p in directory.glob("*.pt")]
    try:
        made = [Path(o).stat().st_mtime_ns for o in outputs]
    except FileNotFoundError:
        return False
    return bool(made) and min(made) >= max(saves, default=0)


def clear_completed(
    outputs_of: Callable[[str, dict[str, str]], list[str] | None],
    root: Path = progress.ROOT,
) -> list[Path]:
    """Remove the progress of every job under `root` that :func:`completed`;
    `outputs_of(rule, wildcards)` gives a job's outputs (None: an unknown rule,
    whose progress is left). Returns the directories removed.

    The workflow calls this when a run ends (``onsuccess``, ``onerror``), not the
    job itself: a job can be stopped after its script ended (SLURM's wall time
    reached while Snakemake records the job), and its rerun then finds its loops'
    final saves and only writes its outputs again."""
    removed = []
    for rule, wildcards, directory in saved_jobs(root):
        outputs = outputs_of(rule, wildcards)
        if outputs is not None and completed(directory, outputs):
            progress.remove(directory)
            removed.append(directory)
    return removed
