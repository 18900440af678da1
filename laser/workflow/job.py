"""The set-up every rule script shares: its log, torch threads, dtype, device and
saved progress, all taken from the rule's ``log:``, ``threads:``, ``params:`` and
``resources:`` (no script reads ``snakemake.config``)."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from laser.progress import Progress, job_key

__all__ = ["Job", "start", "log_to", "resolve_device", "resolve_dtype"]

log = logging.getLogger(__name__)

# the log of a job's attempts, kept in its progress directory until it completes
ATTEMPTS_LOG = "attempts.log"
# the last line of the preamble Snakemake writes before a rule's script
PREAMBLE_END = "######## snakemake preamble end #########\n"


def log_to(
    path: str | os.PathLike,
    threads: int | None = None,
    level: int = logging.INFO,
    copy: str | os.PathLike | None = None,
) -> None:
    """Send the root logger to `path` (and stderr); use `threads` torch threads.

    With `copy`, the log also goes to that file, appended to it, and `path`
    starts with what `copy` holds: the logs of the job's interrupted attempts
    (which Snakemake clears from `path` when it reruns the job)."""
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if copy is None:
        handlers.append(logging.FileHandler(path, mode="w"))
    else:
        copy = Path(copy)
        copy.parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(copy.read_text() if copy.is_file() else "")
        handlers += [logging.FileHandler(path), logging.FileHandler(copy)]
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    logging.captureWarnings(True)
    sys.excepthook = _log_exception
    if threads is not None:
        torch.set_num_threads(max(1, int(threads)))


def _log_exception(kind: type, error: BaseException, trace: Any) -> None:
    """The job's uncaught error into its log as well: bad input (a ValueError,
    such as laser.io.DataError, whose message names the file and the problem) as
    its message alone, anything else with its traceback."""
    if issubclass(kind, ValueError):
        log.error("%s: %s", kind.__name__, error)
    else:
        log.error("the job failed", exc_info=(kind, error, trace))
    sys.__excepthook__(kind, error, trace)


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` picks CUDA where a GPU is visible, else the CPU; the choice is logged."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' was asked for, but no GPU is visible")
        log.info("device: %s (%s)", device, torch.cuda.get_device_name(device))
    else:
        log.info("device: cpu (%d threads)", torch.get_num_threads())
    return device


def resolve_dtype(name: str) -> torch.dtype:
    """Map `float32` / `float64` to the torch dtype.

    Examples:
        >>> resolve_dtype("float64")
        torch.float64
    """
    dtypes = {"float32": torch.float32, "float64": torch.float64}
    if name not in dtypes:
        raise ValueError(f"dtype must be one of {sorted(dtypes)}, got '{name}'")
    return dtypes[name]


@dataclass(frozen=True)
class Job:
    """A running rule's inputs, outputs, parameters and compute settings.

    Attributes:
        input: the rule's named inputs.
        output: the rule's named outputs.
        params: the rule's params (the hyperparameters: the rerun triggers).
        dataset: the job's dataset wildcard ("" where it has none).
        dtype: torch dtype of the networks (params.dtype), None where not given.
        device: torch device (resources.device), None where not given.
        progress: the job's saved progress (:mod:`laser.progress`), off for a
            rule that declares no ``progress_steps`` / ``progress_seconds``
            resource.
    """

    input: Any
    output: Any
    params: Any
    dataset: str
    dtype: torch.dtype | None
    device: torch.device | None
    progress: Progress = field(default_factory=Progress.off)

    @property
    def compute(self) -> dict[str, Any]:
        """The keywords of a training call: ``dtype``, ``device`` and ``progress``."""
        return {"dtype": self.dtype, "device": self.device, "progress": self.progress}


def script_source() -> str:
    """The source of the running rule script: the file Python runs, less the
    preamble Snakemake puts before the script's own lines (it holds the job's
    pickled ``snakemake`` object, which differs between attempts)."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if main is None or not Path(main).is_file():
        return ""
    return Path(main).read_text().split(PREAMBLE_END, 1)[-1]


def start(smk: Any) -> Job:
    """Set a rule's job up from its ``snakemake`` object: the log (``log[0]``)
    and torch threads (``threads``), the dtype (``params.dtype``), the device
    (``resources.device``: a resource, so that moving a job to a GPU does not
    rerun it) and the saved progress (``resources.progress_steps`` and
    ``progress_seconds``, the save intervals), each where the rule declares it.

    The progress is keyed by the rule, the wildcards, the bytes of the input
    files (the modules of `laser` among them), the params and the script's
    source. The job's log also goes to its
    progress directory, so that the log of a rerun starts with those of the
    interrupted attempts."""
    res = smk.resources
    wildcards = dict(smk.wildcards.items())
    steps = getattr(res, "progress_steps", None)
    seconds = getattr(res, "progress_seconds", None)
    progress = Progress.off()
    if steps is not None or seconds is not None:
        directory = Progress.directory_of(smk.rule, wildcards)
        params = dict(smk.params.items())
        key = job_key(smk.rule, wildcards, smk.input, params, script_source())
        progress = Progress(directory, key, int(steps or 0), float(seconds or 0))
        stale = progress.claim()  # a stale directory goes, its log with it
        rerun = (directory / ATTEMPTS_LOG).is_file()
        log_to(smk.log[0], smk.threads, copy=directory / ATTEMPTS_LOG)
        if stale:
            log.warning("%s", stale)
        if rerun:
            log.info(
                "--- %s: a rerun, the log above is the earlier attempts'", smk.rule
            )
    else:
        log_to(smk.log[0], smk.threads)
    dtype = getattr(smk.params, "dtype", None)
    device = getattr(res, "device", None)
    return Job(
        input=smk.input,
        output=smk.output,
        params=smk.params,
        dataset=wildcards.get("dataset", ""),
        dtype=None if dtype is None else resolve_dtype(dtype),
        device=None if device is None else resolve_device(device),
        progress=progress,
    )
