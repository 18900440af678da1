"""The run's schedule (laser.workflow.estimate): each job's path to the end, which
ranks the jobs, and the wall time of jobs started in that order."""

from __future__ import annotations

import random

import pytest

from laser.workflow.estimate import Task, by_path, path_seconds, wall_seconds


def _random_dag(rng: random.Random, n: int) -> dict[str, Task]:
    """n tasks of 1-100 s, each waiting for up to 3 of the tasks before it."""
    tasks = {}
    for i in range(n):
        needs = rng.sample(range(i), min(i, rng.randint(0, 3)))
        tasks[f"t{i}"] = Task(rng.uniform(1, 100), 1, frozenset(f"t{j}" for j in needs))
    return tasks


@pytest.mark.parametrize("seed", range(5))
def test_a_task_is_ranked_above_every_task_waiting_for_it(seed: int) -> None:
    """path = own seconds + the longest path of a waiter: above each waiter by at
    least its own seconds, and exactly the seconds of a task nobody waits for."""
    tasks = _random_dag(random.Random(seed), 60)
    path = path_seconds(tasks)
    waited = {need for task in tasks.values() for need in task.needs}
    for key, task in tasks.items():
        for need in task.needs:
            assert path[need] >= tasks[need].seconds + path[key] - 1e-9
        if key not in waited:
            assert path[key] == pytest.approx(task.seconds)
    # the longest path is the critical path: no schedule ends before it
    assert wall_seconds(by_path(tasks), 64) == pytest.approx(max(path.values()))


def test_the_longest_path_starts_first_and_a_short_chain_fills_the_end() -> None:
    """Two cores: a 100 s job, a 10 s job that a 100 s job waits for, and a 50 s
    job. In the order listed the 50 s job starts at once and the chain ends at
    160 s; by path the chain starts first and the run ends at 150 s."""
    tasks = {
        "a": Task(100),
        "d": Task(50),
        "b": Task(10),
        "c": Task(100, needs=frozenset({"b"})),
    }
    assert path_seconds(tasks) == {"a": 100.0, "d": 50.0, "b": 110.0, "c": 100.0}
    assert list(by_path(tasks)) == ["b", "a", "c", "d"]
    assert wall_seconds(tasks, 2) == 160.0
    assert wall_seconds(by_path(tasks), 2) == 150.0


def test_tasks_waiting_for_each_other_are_refused() -> None:
    tasks = {"a": Task(1, needs=frozenset({"b"})), "b": Task(1, needs=frozenset({"a"}))}
    with pytest.raises(ValueError, match="wait for each other"):
        path_seconds(tasks)
