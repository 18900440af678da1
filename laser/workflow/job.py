"""The set-up every rule script shares: its log, torch threads, dtype and device,
all taken from the rule's ``log:``, ``threads:``, ``params:`` and ``resources:``
(no script reads ``snakemake.config``)."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["Job", "start", "log_to", "resolve_device", "resolve_dtype"]

log = logging.getLogger(__name__)


def log_to(
    path: str | os.PathLike, threads: int | None = None, level: int = logging.INFO
) -> None:
    """Send the root logger to `path` (and stderr); use `threads` torch threads."""
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    for handler in (
        logging.FileHandler(path, mode="w"),
        logging.StreamHandler(sys.stderr),
    ):
        handler.setFormatter(fmt)
        root.addHandler(handler)
    logging.captureWarnings(True)
    if threads is not None:
        torch.set_num_threads(max(1, int(threads)))


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
    """

    input: Any
    output: Any
    params: Any
    dataset: str
    dtype: torch.dtype | None
    device: torch.device | None


def start(smk: Any) -> Job:
    """Set a rule's job up from its ``snakemake`` object: the log (``log[0]``)
    and torch threads (``threads``), the dtype (``params.dtype``) and the device
    (``resources.device``: a resource, so that moving a job to a GPU does not
    rerun it), each where the rule declares it."""
    log_to(smk.log[0], smk.threads)
    dtype = getattr(smk.params, "dtype", None)
    device = getattr(smk.resources, "device", None)
    return Job(
        input=smk.input,
        output=smk.output,
        params=smk.params,
        dataset=getattr(smk.wildcards, "dataset", ""),
        dtype=None if dtype is None else resolve_dtype(dtype),
        device=None if device is None else resolve_device(device),
    )
