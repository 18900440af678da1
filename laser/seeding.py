"""Seeds: one global seed, one derived seed per rule and wildcard values."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

__all__ = ["derive_seed", "torch_generator", "numpy_rng"]


def derive_seed(base: int, *keys: object) -> int:
    """Derive a 63-bit seed from the global seed and keys (rule name, wildcards).

    The same inputs give the same seed on every machine and Python version
    (SHA-256, not Python's salted `hash`).

    Examples:
        >>> derive_seed(1, "run_hmc", "rings") == derive_seed(1, "run_hmc", "rings")
        True
    """
    text = "/".join([str(int(base)), *map(str, keys)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator on `device` seeded with `seed`."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def numpy_rng(seed: int) -> np.random.Generator:
    """A numpy PCG64 generator seeded with `seed`."""
    return np.random.default_rng(int(seed))
