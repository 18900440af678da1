"""Saved progress of long loops, so that an interrupted job continues where it was.

A job (one rule, one set of wildcards) owns a :class:`Progress`: a directory
outside its outputs (``progress/<rule>/<wildcards>/``, since Snakemake removes
the outputs of a failed job) and a key, the hash of what the job depends on (its
input files, the code among them, and its parameters). Each loop of the job (an
epoch loop, a sampler's iterations) opens a :class:`Loop`: the n-th loop of the job
saves to ``NN-<stage>.pt``. A loop saves its whole state (networks, optimisers,
schedulers, random generators, counters, samples so far) at an interval of steps
or of wall time, on SIGTERM (what SLURM sends at a job's wall-time limit, before
SIGKILL) and SIGINT (Ctrl-C), and once more when it ends, so that a rerun skips
the loops that ended and continues the one that was running, to the same bytes
as a run never stopped.

A saved state is used only where its key is the job's: one made by a job with
other inputs, parameters or code is discarded with a log line. Files load with
``torch.load(weights_only=True)`` (plain tensors and containers; a pickled object
is refused). Writes are atomic: a kill mid-save leaves the previous save.
When a run of the workflow ends, it removes the progress of the jobs that
completed (:mod:`laser.workflow.cleanup`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "Progress",
    "Loop",
    "job_key",
    "rng_state",
    "set_rng_state",
    "remove",
]

log = logging.getLogger(__name__)

# the root of every job's saved progress, relative to the working directory
ROOT = Path("progress")
# the file of a job's progress directory that holds the job's key
KEY_FILE = "KEY"

# the signal (SIGTERM, SIGINT) received while a loop ran: save at the next step and
# stop; 0 for none
_terminate = 0
_active = 0  # loops running now


def _on_signal(signum: int, frame: Any) -> None:
    global _terminate
    if _active:
        _terminate = signum  # the running loop saves at its next step, then exits
        return
    # outside a loop: stop as without the handler
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def job_key(
    rule: str,
    wildcards: Mapping[str, Any],
    files: Iterable[str | os.PathLike],
    params: Mapping[str, Any],
    script: str = "",
) -> str:
    """SHA-256 of a job's rule, wildcards, input files (their names and bytes; the
    modules of `laser` it uses are among them), parameters and the source of its
    script: equal keys, equal work. Names, not paths, so that moving the working
    directory keeps the key.

    Examples:
        >>> a = job_key("run_hmc", {"dataset": "rings"}, [], {"seed": 1})
        >>> a == job_key("run_hmc", {"dataset": "rings"}, [], {"seed": 2})
        False
    """
    h = hashlib.sha256()
    head = {"rule": rule, "wildcards": dict(wildcards), "params": dict(params)}
    h.update(json.dumps(head, sort_keys=True, default=repr).encode())
    h.update(torch.__version__.encode())
    h.update(script.encode())
    for path in sorted({str(f) for f in files}):
        h.update(Path(path).name.encode())
        with open(path, "rb") as f:
            h.update(hashlib.file_digest(f, "sha256").digest())
    return h.hexdigest()


def rng_state(*generators: torch.Generator) -> dict[str, Any]:
    """The states of `generators` and of torch's global generator, for a save."""
    return {
        "generators": [g.get_state() for g in generators],
        "global": torch.get_rng_state(),
    }


def set_rng_state(state: Mapping[str, Any], *generators: torch.Generator) -> None:
    """Restore what :func:`rng_state` saved into the same `generators`."""
    for g, s in zip(generators, state["generators"], strict=True):
        g.set_state(s)
    torch.set_rng_state(state["global"])


class Progress:
    """The saved progress of one job.

    Args:
        directory: where the job's loops save; None turns saving off (the
            default of every library call, and for a job that declares none).
        key: the job's :func:`job_key`.
        every_steps: save every this many steps (epochs, iterations); 0: off.
        every_seconds: save when this many seconds passed since the last save;
            0: off.
    """

    def __init__(
        self,
        directory: str | os.PathLike | None,
        key: str = "",
        every_steps: int = 0,
        every_seconds: float = 0.0,
    ):
        if every_steps < 0 or every_seconds < 0:
            raise ValueError(
                f"save intervals must be >= 0, got {every_steps} steps and "
                f"{every_seconds} s"
            )
        self.directory = None if directory is None else Path(directory)
        self.key = key
        self.every_steps = int(every_steps)
        self.every_seconds = float(every_seconds)
        self._loops = 0
        if self.directory is not None:
            try:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(signum, _on_signal)
            except ValueError:  # not the main thread: no handler, saves still run
                pass

    @classmethod
    def off(cls) -> Progress:
        """A progress that never saves nor loads."""
        return cls(None)

    @staticmethod
    def directory_of(rule: str, wildcards: Mapping[str, Any]) -> Path:
        """``progress/<rule>/<name>=<value>,...`` (``all`` without wildcards)."""
        name = ",".join(f"{k}={v}" for k, v in wildcards.items()) or "all"
        return ROOT / rule / name

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def claim(self) -> str | None:
        """Mark the directory as this job's (its key in ``KEY``); a directory of
        a job with another key (other inputs, parameters or code) is removed
        first, its log too. Returns what was removed, for the log, or None."""
        if self.directory is None:
            return None
        stale = None
        key_file = self.directory / KEY_FILE
        if key_file.is_file() and key_file.read_text() != self.key:
            shutil.rmtree(self.directory, ignore_errors=True)
            stale = (
                f"saved progress {self.directory} discarded, stale: saved by a job "
                "with other inputs, parameters or code"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        key_file.write_text(self.key)
        return stale

    def loop(self, stage: str, total: int | None) -> Loop:
        """The job's next loop, `total` steps long (None: until it ends, as
        rejection sampling does), named `stage` in the log."""
        self._loops += 1
        path = None
        if self.directory is not None:
            path = self.directory / f"{self._loops:02d}-{stage.replace(' ', '_')}.pt"
        return Loop(self, path, stage, total)

    def clear(self) -> None:
        """Remove the job's saved progress."""
        if self.directory is not None:
            remove(self.directory)


def remove(directory: Path) -> None:
    """Remove a job's progress directory, and the rule's and the root where they
    are left empty."""
    if not directory.exists():
        return
    shutil.rmtree(directory, ignore_errors=True)
    for parent in (directory.parent, directory.parent.parent):
        try:
            parent.rmdir()  # only where empty
        except OSError:
            break
    log.info("saved progress removed: %s", directory)


class Loop:
    """One loop's saves: :meth:`resume` before the first step, :meth:`step` after
    each (it saves when one is due), as in::

        with progress.loop("flow", epochs) as loop:
            saved = loop.resume()  # None: start from step 0
            done = 0 if saved is None else restore(saved)
            for step in range(done + 1, epochs + 1):
                ...
                loop.step(step, lambda: state)  # at the interval and at the end

    While a loop runs (inside ``with``), SIGTERM or SIGINT makes the next
    :meth:`step` save and stop the job.
    """

    def __init__(
        self, progress: Progress, path: Path | None, stage: str, total: int | None
    ):
        self.progress, self.path, self.stage, self.total = progress, path, stage, total
        self._last = time.monotonic()

    def _of(self, done: int) -> str:
        return f"{done}/{'?' if self.total is None else self.total}"

    def __enter__(self) -> Loop:
        global _active
        _active += self.path is not None
        return self

    def __exit__(self, kind: type | None, *exc: object) -> None:
        global _active
        _active -= self.path is not None
        if kind is None and _terminate and self.path is not None:
            # the signal came after the last step: the loop's final save is made
            self._stop("its end")

    @property
    def stopping(self) -> bool:
        """A signal asked the job to stop: save at once (mid-epoch too) and exit
        with :meth:`interrupt`."""
        return bool(_terminate) and self.path is not None

    def interrupt(self, done: int, state: dict[str, Any], where: str) -> None:
        """Save `state` (after `done` whole steps, and `where` in the next; the
        state says how far) and stop the job, as :meth:`step` does on a signal."""
        self.save(done, state)
        self._stop(where)

    def _stop(self, where: str) -> None:
        name = signal.Signals(_terminate).name
        log.warning(
            "%s: stopped by %s at %s; progress saved to %s",
            self.stage,
            name,
            where,
            self.path,
        )
        raise SystemExit(128 + _terminate)

    @contextlib.contextmanager
    def restoring(self) -> Iterator[None]:
        """Around putting a saved state back: a save that does not fit the loop
        (a network or state of other shapes or keys) is removed, and the job
        stops with an error naming it; its rerun starts the loop over."""
        try:
            yield
        except Exception as e:  # noqa: BLE001 - torch raises many types here
            if self.path is not None:
                self.path.unlink(missing_ok=True)
            raise RuntimeError(
                f"{self.path}: the saved progress does not fit this loop "
                f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                "it is removed: rerun the job to start the loop over"
            ) from None

    def resume(self) -> dict[str, Any] | None:
        """The saved state of this loop (with its step count ``done``), or None."""
        if self.path is None or not self.path.exists():
            return None
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - torch raises many types here
            reason = f"not a plain-tensor file ({type(e).__name__}: "
            reason += f"{str(e).splitlines()[0] if str(e) else ''})"
            return self._discard(reason)
        if not isinstance(saved, dict) or {"key", "stage", "done", "total", "state"} - (
            saved.keys()
        ):
            return self._discard("not a saved progress of this workflow")
        if saved["key"] != self.progress.key:
            return self._discard(
                "stale: saved by a job with other inputs, parameters or code"
            )
        if saved["stage"] != self.stage or saved["total"] != self.total:
            return self._discard(
                f"saved by another loop ({saved['stage']}, {saved['total']} steps)"
            )
        done = saved["done"]
        within = saved["state"].get("within")
        log.info(
            "%s: resumed at step %s%s from %s",
            self.stage,
            self._of(done),
            f" and {within['batch']} minibatches into the next" if within else "",
            self.path,
        )
        self._last = time.monotonic()
        return {**saved["state"], "done": done}

    def _discard(self, reason: str) -> None:
        log.warning(
            "%s: saved progress %s discarded, %s", self.stage, self.path, reason
        )
        self.path.unlink(missing_ok=True)
        return None

    def due(self, done: int, final: bool = False) -> bool:
        """Whether a save is due after `done` steps (`final`: the last step)."""
        p = self.progress
        return self.path is not None and (
            final
            or done == self.total
            or _terminate
            or (p.every_steps > 0 and done % p.every_steps == 0)
            or (
                p.every_seconds > 0 and time.monotonic() - self._last >= p.every_seconds
            )
        )

    def step(
        self, done: int, state: Callable[[], dict[str, Any]], final: bool = False
    ) -> None:
        """After `done` steps: save ``state()`` if a save is due (at the interval,
        and after the last step: step `total`, or one marked `final`); after
        SIGTERM or SIGINT save and stop the job (exit status 128 + the signal's
        number: 143, 130), its progress kept for the rerun."""
        if not self.due(done, final):
            return
        self.save(done, state())
        if _terminate:
            self._stop(f"step {self._of(done)}")

    def save(self, done: int, state: dict[str, Any]) -> None:
        """Write the state atomically (a temporary file, then a rename)."""
        payload = {
            "key": self.progress.key,
            "stage": self.stage,
            "done": done,
            "total": self.total,
            "state": state,
        }
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(buffer.getvalue())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:  # the rename itself durable
                os.fsync(directory)
            finally:
                os.close(directory)
        finally:
            Path(tmp).unlink(missing_ok=True)
        self._last = time.monotonic()
        log.info(
            "%s: progress saved at step %s to %s", self.stage, self._of(done), self.path
        )
