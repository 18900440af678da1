"""Logging set-up shared by the rule scripts."""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["log_to"]


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
        import torch

        torch.set_num_threads(max(1, int(threads)))
