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
from laser.workflow import cleanup

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


# saves of a run never stopped (one per step; rejection's steps vary, about 40)
SAVES = {"flow": 12, "classifier": 12, "gan": 12, "omnifold": 16, "hmc": 30,
         "langevin": 40, "rejection": 30}  # fmt: skip


def _reference(kind: str, tmp: Path) -> bytes:
    reference = _driver(kind, tmp, "reference", "--off")
    assert reference.wait(timeout=120) == 0, (tmp / "reference.log").read_text()
    return (tmp / "reference").read_bytes()


def _kill_after(proc: subprocess.Popen, log: Path, saves: int, rng) -> None:
    """SIGKILL `proc` at a random time in the step after its `saves`-th save."""
    end = time.monotonic() + 120
    while len(_saves(log)) < saves:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < end, log.read_text()
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.04))  # anywhere within the next step
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.parametrize("kind", KINDS)
def test_a_loop_killed_at_random_steps_resumes_to_the_same_bytes(
    kind: str, tmp_path: Path
) -> None:
    """Killed twice by SIGKILL, at a random step of the first half and, after a
    resume, at one of the second half (HMC and Langevin then past their burn-in,
    OmniFold in its second iteration), then run to the end."""
    expected = _reference(kind, tmp_path)
    rng = random.Random(f"{kind}-{os.getpid()}")
    total = SAVES[kind]
    first = rng.randint(2, total // 2)
    second = rng.randint(total // 2 + 1, total - 2)
    _kill_after(_driver(kind, tmp_path, "first"), tmp_path / "first.log", first, rng)
    assert not (tmp_path / "first").exists()
    assert list((tmp_path / "progress").glob("*.pt")), "no progress saved"
    done = len(_saves(tmp_path / "first.log"))
    proc = _driver(kind, tmp_path, "second")
    _kill_after(proc, tmp_path / "second.log", second - done, rng)
    third = _driver(kind, tmp_path, "out")  # the output path of every run
    assert third.wait(timeout=120) == 0, (tmp_path / "out.log").read_text()
    for name in ("second", "out"):
        text = (tmp_path / f"{name}.log").read_text()
        assert re.search(r"resumed at step [1-9]\d*/", text), text
    assert (tmp_path / "out").read_bytes() == expected
    assert not (tmp_path / "progress").exists()  # cleared at the end


@pytest.mark.parametrize("kind", ["flow", "classifier", "gan"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_inside_an_epoch_saves_there_and_resumes_to_the_same_bytes(
    kind: str, sig: int, tmp_path: Path
) -> None:
    """A training with no saves by time or count gets a signal in a random
    minibatch (12 epochs of 4 minibatches, the classifier's of 8): it saves after
    that minibatch (an epoch of the paper's GAN is longer than SLURM's 30 s
    between SIGTERM and SIGKILL) and the rerun continues there."""
    expected = _reference(kind, tmp_path)
    per_epoch = 8 if kind == "classifier" else 4  # data and generated points
    k = random.Random(f"{kind}-{sig}-{os.getpid()}").randint(2, 12 * per_epoch - 2)
    first = _driver(kind, tmp_path, "first", "--signal", f"{int(sig)}:{k}")
    log = tmp_path / "first.log"
    assert first.wait(timeout=120) == 128 + sig, log.read_text()
    batch, epoch = (k - 1) % per_epoch + 1, (k - 1) // per_epoch + 1
    stop = (
        f"stopped by {signal.Signals(sig).name} at minibatch {batch} of epoch {epoch}/"
    )
    assert stop in log.read_text(), log.read_text()
    rerun = _driver(kind, tmp_path, "first", "--signal")  # the same output path
    assert rerun.wait(timeout=120) == 0, log.read_text()
    resumed = f"resumed at step {epoch - 1}/12 and {batch} minibatches into the next"
    assert resumed in log.read_text(), log.read_text()
    assert (tmp_path / "first").read_bytes() == expected


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


def test_off_saves_nothing_and_each_loop_of_a_job_has_its_file(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
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
    assert f"stopped by {signal.Signals(sig).name} at step 4/10" in res.stderr
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
    assert [(r, w) for r, w, _ in cleanup.saved_jobs(root)] == [
        ("gone", {"dataset": "a"}),
        ("train", {"dataset": "a"}),
        ("train", {"dataset": "b"}),
        ("train", {"dataset": "c"}),
    ]

    def outputs_of(rule: str, wildcards: dict) -> list | None:
        return None if rule == "gone" else outputs[rule, wildcards["dataset"]]

    removed = cleanup.clear_completed(outputs_of, root)
    assert removed == [root / "train" / "dataset=a"]
    assert sorted(p.name for p in (root / "train").iterdir()) == [
        "dataset=b",
        "dataset=c",
    ]
    assert (root / "gone" / "dataset=a").is_dir()


def test_a_directory_of_another_job_is_removed_when_a_job_claims_it(
    tmp_path: Path,
) -> None:
    d = tmp_path / "progress" / "train_baseline" / "dataset=g"
    old = Progress(d, "old key", every_steps=1)
    assert old.claim() is None
    _fake_loop(old, 5, stop=3)
    (d / "attempts.log").write_text("the old job's log\n")
    assert Progress(d, "old key").claim() is None  # the same job: kept
    assert (d / "01-fake.pt").exists()
    stale = Progress(d, "new key").claim()
    assert "discarded, stale" in stale and str(d) in stale
    assert sorted(f.name for f in d.iterdir()) == ["KEY"]
    assert (d / "KEY").read_text() == "new key"


def test_a_save_that_does_not_fit_is_removed_with_an_error(tmp_path: Path) -> None:
    model = torch.nn.Linear(2, 2)
    p = Progress(tmp_path / "p", "k")
    with p.loop("fake", 3) as loop:
        loop.save(1, {"model": {"weight": torch.zeros(5, 5)}})
    p = Progress(tmp_path / "p", "k")
    with p.loop("fake", 3) as loop:
        saved = loop.resume()
        with pytest.raises(RuntimeError, match="does not fit this loop.*rerun the job"):
            with loop.restoring():
                model.load_state_dict(saved["model"])
    assert not (tmp_path / "p" / "01-fake.pt").exists()


def test_the_script_source_leaves_out_snakemake_s_preamble(
    tmp_path: Path, monkeypatch
) -> None:
    from laser.workflow import job

    script = tmp_path / "tmpabc.train_baseline.py"
    script.write_text(
        "######## snakemake preamble start ########\n"
        "import pickle; snakemake = pickle.loads(b'attempt 1')\n"
        + job.PREAMBLE_END
        + "print('the script')\n"
    )
    main = type(sys)("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert job.script_source() == "print('the script')\n"
