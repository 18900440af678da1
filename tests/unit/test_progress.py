"""Saved progress (laser.progress): a loop killed at a random step and rerun gives
the bytes of a run never stopped; stale, foreign and tampered saves are refused."""

from __future__ import annotations

import logging
import os
import pickle
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from laser import progress as progress_module
from laser.progress import Progress, job_key

DRIVER = Path(__file__).with_name("progress_driver.py")
REPO = Path(__file__).resolve().parents[2]
KINDS = ["flow", "classifier", "gan", "omnifold", "hmc", "langevin", "rejection"]


def _driver(kind: str, tmp: Path, name: str, *extra: str) -> subprocess.Popen:
    log = open(tmp / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, str(DRIVER), kind, str(tmp / "progress"), str(tmp / name)]
        + list(extra),
        stderr=log,
        stdout=log,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=tmp,
    )


def _saves(log: Path) -> list[int]:
    return [
        int(s) for s in re.findall(r"progress saved at step (\d+)/", log.read_text())
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_a_loop_killed_at_a_random_step_resumes_to_the_same_bytes(
    kind: str, tmp_path: Path
) -> None:
    reference = _driver(kind, tmp_path, "reference", "--off")
    assert reference.wait(timeout=120) == 0, (tmp_path / "reference.log").read_text()
    expected = (tmp_path / "reference").read_bytes()

    rng = random.Random(f"{kind}-{os.getpid()}")
    first = _driver(kind, tmp_path, "first")
    log = tmp_path / "first.log"
    # the total steps of the job's loops, known from a run never stopped: the
    # driver saves after every step
    wanted = rng.randint(2, 8)
    end = time.monotonic() + 120
    while len(_saves(log)) < wanted:
        assert first.poll() is None, log.read_text()
        assert time.monotonic() < end, log.read_text()
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.04))  # anywhere within the next step
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert not (tmp_path / "first").exists()
    assert list((tmp_path / "progress").glob("*.pt")), "no progress saved"

    second = _driver(kind, tmp_path, "first")  # the rerun: same output path
    text_log = tmp_path / "first.log"
    assert second.wait(timeout=120) == 0, text_log.read_text()
    text = text_log.read_text()
    resumed = [int(s) for s in re.findall(r"resumed at step (\d+)/", text)]
    assert resumed and resumed[-1] >= 1, text
    assert (tmp_path / "first").read_bytes() == expected
    assert not (tmp_path / "progress").exists()  # cleared at the end


# --- the rules of a save -------------------------------------------------------------


def _fake_loop(progress: Progress, total: int, stop: int | None = None) -> list[int]:
    """A loop of `total` steps whose state is its list of steps done."""
    with progress.loop("fake", total) as loop:
        saved = loop.resume()
        done = [] if saved is None else saved["steps"]
        for step in range(len(done) + 1, total + 1):
            if step == stop:
                return done
            done.append(step)
            loop.step(step, lambda: {"steps": list(done)})
    return done


def _saved_steps(path: Path) -> int:
    return torch.load(path, weights_only=True)["done"]


def test_saves_every_n_steps_and_at_the_end(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    p = Progress(tmp_path / "p", "key", every_steps=3)
    assert _fake_loop(p, 10, stop=8) == list(range(1, 8))
    assert _saved_steps(tmp_path / "p" / "01-fake.pt") == 6
    p = Progress(tmp_path / "p", "key", every_steps=3)
    assert _fake_loop(p, 10) == list(range(1, 11))
    assert "fake: resumed at step 6/10 from" in caplog.text
    assert _saved_steps(tmp_path / "p" / "01-fake.pt") == 10  # the end


def test_saves_after_the_interval_of_wall_time(tmp_path: Path, monkeypatch) -> None:
    clock = iter(range(0, 10_000, 40))  # 40 s per call of the clock
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    p = Progress(tmp_path / "p", "key", every_seconds=100)
    _fake_loop(p, 10, stop=6)
    # the clock: created 0, step 1 at 40, 2 at 80, 3 at 120 -> save (reset 160),
    # 4 at 200, 5 at 240, ...
    assert _saved_steps(tmp_path / "p" / "01-fake.pt") == 3


def test_off_saves_nothing_and_each_loop_of_a_job_has_its_file(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    assert _fake_loop(Progress.off(), 5) == [1, 2, 3, 4, 5]
    assert list(tmp_path.iterdir()) == []
    p = Progress(tmp_path / "p", "key")
    _fake_loop(p, 2)
    _fake_loop(p, 3)
    assert sorted(f.name for f in (tmp_path / "p").iterdir()) == [
        "01-fake.pt",
        "02-fake.pt",
    ]


def test_a_save_of_another_job_is_discarded_with_a_log_line(
    tmp_path: Path, caplog
) -> None:
    _fake_loop(Progress(tmp_path / "p", "old key", every_steps=1), 10, stop=5)
    caplog.set_level(logging.INFO)
    p = Progress(tmp_path / "p", "new key", every_steps=1)
    with p.loop("fake", 10) as loop:
        assert loop.resume() is None
    assert "discarded, stale: saved by a job with other inputs, parameters or code" in (
        caplog.text
    )
    assert not (tmp_path / "p" / "01-fake.pt").exists()
    # the same key, but another loop in that place (other stage or length)
    _fake_loop(Progress(tmp_path / "p", "k", every_steps=1), 10, stop=5)
    with Progress(tmp_path / "p", "k").loop("fake", 12) as loop:
        assert loop.resume() is None
    assert "saved by another loop (fake, 10 steps)" in caplog.text


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_tampered_save_is_refused_without_running_its_code(
    tmp_path: Path, caplog
) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "p" / "01-fake.pt"
    path.parent.mkdir()
    # a pickle that runs code when loaded without weights_only
    torch.save({"key": "k", "stage": "fake", "done": 3, "total": 5,
                "state": {"steps": _Payload(marker)}}, path)  # fmt: skip
    caplog.set_level(logging.INFO)
    assert _fake_loop(Progress(tmp_path / "p", "k"), 5) == [1, 2, 3, 4, 5]
    assert not marker.exists()
    assert "discarded, not a plain-tensor file" in caplog.text
    # not a torch file at all, and a plain-tensor file of another shape
    path.write_bytes(pickle.dumps([1, 2]) + b"garbage")
    assert _fake_loop(Progress(tmp_path / "p", "k"), 5) == [1, 2, 3, 4, 5]
    torch.save({"anything": torch.zeros(2)}, path)
    assert _fake_loop(Progress(tmp_path / "p", "k"), 5) == [1, 2, 3, 4, 5]
    assert "not a saved progress of this workflow" in caplog.text


def test_clear_removes_the_job_and_empty_rule_directories(tmp_path: Path) -> None:
    root = tmp_path / "progress"
    a = Progress(root / "rule" / "dataset=a", "k", every_steps=1)
    b = Progress(root / "rule" / "dataset=b", "k", every_steps=1)
    _fake_loop(a, 3, stop=2)
    _fake_loop(b, 3, stop=2)
    a.clear()
    assert sorted(p.name for p in (root / "rule").iterdir()) == ["dataset=b"]
    b.clear()
    assert not root.exists()


def test_the_directory_names_the_rule_and_wildcards() -> None:
    d = Progress.directory_of(
        "train_refiner_iterated", {"dataset": "g", "iteration": 2}
    )
    assert d == Path("progress/train_refiner_iterated/dataset=g,iteration=2")
    assert Progress.directory_of("table", {}) == Path("progress/table/all")


def test_the_key_covers_inputs_code_and_params(tmp_path: Path) -> None:
    data, code = tmp_path / "data.npz", tmp_path / "code.py"
    data.write_bytes(b"1")
    code.write_text("x = 1\n")
    args = ("train_baseline", {"dataset": "g"}, [data, code], {"seed": 1})
    key = job_key(*args)
    assert job_key(*args) == key
    assert job_key("train_baseline", {"dataset": "h"}, *args[2:]) != key
    assert job_key(*args[:3], {"seed": 2}) != key
    code.write_text("x = 2\n")  # the code changed
    assert job_key(*args) != key
    code.write_text("x = 1\n")
    assert job_key(*args) == key
    data.write_bytes(b"2")  # the data changed
    assert job_key(*args) != key


def _python(script: str, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_in_a_loop_saves_and_stops(tmp_path: Path, sig: int) -> None:
    script = (
        "import os, signal, sys\n"
        "from laser.progress import Progress\n"
        "p = Progress(sys.argv[1], 'k')\n"
        "with p.loop('fake', 10) as loop:\n"
        "    for step in range(1, 11):\n"
        "        if step == 4:\n"
        f"            os.kill(os.getpid(), {int(sig)})\n"
        "        loop.step(step, lambda: {'step': step})\n"
        "print('not reached')\n"
    )
    res = _python(script, tmp_path / "p")
    assert res.returncode == 128 + sig, res.stderr  # 143, 130
    assert "not reached" not in res.stdout
    assert f"stopped by {signal.Signals(sig).name} after step 4/10" in res.stderr
    assert _saved_steps(tmp_path / "p" / "01-fake.pt") == 4
    # outside a loop the signal stops the process at once, as without a handler
    script = (
        "import os, signal, sys, time\n"
        "from laser.progress import Progress\n"
        "p = Progress(sys.argv[1], 'k')\n"
        f"os.kill(os.getpid(), {int(sig)})\n"
        "time.sleep(5)\n"
        "print('not reached')\n"
    )
    res = _python(script, tmp_path / "q")
    assert "not reached" not in res.stdout
    # (Python ends on an uncaught KeyboardInterrupt by SIGINT as well)
    assert res.returncode == -sig, res.stderr


def test_a_run_removes_the_progress_of_the_jobs_that_completed(
    tmp_path: Path,
) -> None:
    root = tmp_path / "progress"
    out = tmp_path / "results"
    out.mkdir()
    outputs = {
        ("train", "a"): [out / "a.pt"],  # written after its save: completed
        ("train", "b"): [out / "b.pt"],  # stopped before writing: kept
        ("train", "c"): [out / "c.pt"],  # an output older than the save: kept
        ("gone", "a"): [out / "a.pt"],  # a rule the workflow no longer has
    }
    (out / "c.pt").write_bytes(b"old")
    for rule, dataset in outputs:
        p = Progress(root / rule / f"dataset={dataset}", "k", every_steps=1)
        _fake_loop(p, 3)
    time.sleep(0.01)
    (out / "a.pt").write_bytes(b"new")
    assert [(r, w) for r, w, _ in progress_module.saved_jobs(root)] == [
        ("gone", {"dataset": "a"}),
        ("train", {"dataset": "a"}),
        ("train", {"dataset": "b"}),
        ("train", {"dataset": "c"}),
    ]

    def outputs_of(rule: str, wildcards: dict) -> list | None:
        return None if rule == "gone" else outputs[rule, wildcards["dataset"]]

    removed = progress_module.clear_completed(outputs_of, root)
    assert removed == [root / "train" / "dataset=a"]
    assert sorted(p.name for p in (root / "train").iterdir()) == [
        "dataset=b",
        "dataset=c",
    ]
    assert (root / "gone" / "dataset=a").is_dir()
