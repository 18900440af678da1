"""The wall time of a run before it starts: the jobs Snakemake is about to run,
each costed by the resource model (:func:`laser.workflow.resources.compute_seconds`,
the figure that also sizes the cluster jobs), scheduled on the given cores as
Snakemake's scheduler would, each job waiting for those it needs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from laser.workflow import resources

__all__ = [
    "JOB_START_S",
    "Task",
    "by_path",
    "describe",
    "of_jobs",
    "path_seconds",
    "wall_seconds",
]

# Seconds each job spends starting (Python, torch and the package imported, inputs
# read) on top of its computation: the smallest jobs of the tiny config take 2.7 to
# 3.5 s (tests/configs/tiny.yaml, benchmarks/*/*.tsv).
JOB_START_S = 3.0


@dataclass(frozen=True)
class Task:
    """One job to run.

    Attributes:
        seconds: its estimated duration.
        threads: the cores it occupies (scaled down to the cores given, as
            Snakemake does).
        needs: the keys of the tasks it waits for.
    """

    seconds: float
    threads: int = 1
    needs: frozenset[str] = field(default_factory=frozenset)


def wall_seconds(tasks: Mapping[str, Task], cores: int) -> float:
    """The makespan of `tasks` on `cores`: a job starts, in the order given, as
    soon as the jobs it needs have ended and its threads are free.

    Examples:
        >>> chain = {"a": Task(60), "b": Task(30, needs=frozenset({"a"}))}
        >>> wall_seconds(chain, 2)
        90.0
        >>> wall_seconds({"a": Task(60), "b": Task(60)}, 2)
        60.0
        >>> wall_seconds({"a": Task(60, 2), "b": Task(60, 2)}, 2)
        120.0
    """
    if cores < 1:
        raise ValueError(f"cores must be >= 1, got {cores}")
    unknown = {n for t in tasks.values() for n in t.needs} - set(tasks)
    if unknown:
        raise ValueError(f"tasks need unknown tasks {sorted(unknown)}")
    done: set[str] = set()
    waiting = dict(tasks)
    running: list[tuple[float, int, str]] = []  # (end, order, key)
    now, free, order = 0.0, cores, 0
    while waiting or running:
        for key, task in list(waiting.items()):
            threads = min(max(task.threads, 1), cores)
            if task.needs <= done and threads <= free:
                free -= threads
                del waiting[key]
                heapq.heappush(running, (now + task.seconds, order, key))
                order += 1
        if not running:
            raise ValueError(f"tasks wait for each other: {sorted(waiting)}")
        now, _, key = heapq.heappop(running)
        free += min(max(tasks[key].threads, 1), cores)
        done.add(key)
    return float(now)


def path_seconds(tasks: Mapping[str, Task]) -> dict[str, float]:
    """Each task's seconds to the end of the run: its own and those of the longest
    chain of tasks that wait for it (its upward rank). Started in this order, the
    longest chains start first, and a short one is left for the end, where it
    fills a core beside the last jobs of a long one (critical-path scheduling).

    Examples:
        >>> tasks = {"a": Task(60), "b": Task(30, needs=frozenset({"a"})),
        ...          "c": Task(50, needs=frozenset({"a"})), "d": Task(70)}
        >>> path_seconds(tasks)
        {'a': 110.0, 'b': 30.0, 'c': 50.0, 'd': 70.0}
    """
    unknown = {n for t in tasks.values() for n in t.needs} - set(tasks)
    if unknown:
        raise ValueError(f"tasks need unknown tasks {sorted(unknown)}")
    waiters: dict[str, list[str]] = {key: [] for key in tasks}
    for key, task in tasks.items():
        for need in task.needs:
            waiters[need].append(key)
    out: dict[str, float] = {}
    for key in _waiters_first(tasks, waiters):
        longest = max((out[w] for w in waiters[key]), default=0.0)
        out[key] = float(tasks[key].seconds) + longest
    return {key: out[key] for key in tasks}


def by_path(tasks: Mapping[str, Task]) -> dict[str, Task]:
    """The tasks in the order the workflow starts them: longest path to the end
    first (:func:`path_seconds`, the jobs' priorities)."""
    seconds = path_seconds(tasks)
    return {key: tasks[key] for key in sorted(tasks, key=lambda k: -seconds[k])}


def _waiters_first(
    tasks: Mapping[str, Task], waiters: Mapping[str, list[str]]
) -> list[str]:
    """The keys ordered so that every task comes after all that wait for it."""
    left = {key: len(waiters[key]) for key in tasks}
    ready = [key for key, n in left.items() if n == 0]
    order = []
    while ready:
        key = ready.pop()
        order.append(key)
        for need in tasks[key].needs:
            left[need] -= 1
            if left[need] == 0:
                ready.append(need)
    if len(order) != len(tasks):
        raise ValueError("tasks wait for each other")
    return order


def of_jobs(
    config: dict[str, Any],
    jobs: Iterable[tuple[str, str, str | None, int, Iterable[str]]],
) -> dict[str, Task]:
    """Tasks of jobs given as (key, rule, dataset or None, threads, keys of the
    jobs it needs): each its start-up and its computation; a rule without a script
    of its own (``all``) costs nothing."""
    tasks = {}
    for key, rule, dataset, threads, needs in jobs:
        seconds = 0.0
        if rule != "all":
            seconds = JOB_START_S + resources.compute_seconds(config, rule, dataset)
        tasks[key] = Task(seconds, threads, frozenset(needs))
    return tasks


def describe(seconds: float) -> str:
    """A duration as a person reads it.

    Examples:
        >>> describe(45), describe(2243), describe(13.2 * 3600)
        ('under a minute', '37 min', '13.2 h')
    """
    if seconds < 60:
        return "under a minute"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
