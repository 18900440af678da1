"""Seeds: one global seed, one derived seed per rule and wildcard values."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

__all__ = [
    "derive_seed",
    "torch_generator",
    "numpy_rng",
    "replica",
    "replicas",
    "split",
]

#: Between a dataset's name and its seed in the name of a replica: gaussians.seed2.
#: Dataset names are letters, digits and underscores, so no name contains it.
SEP = ".seed"


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


def replica(name: str, k: int) -> str:
    """The name of replica k (1, 2, ...) of dataset `name` in a study over seeds
    (config key ``seeds``): the name itself for the first, ``name.seed<k>`` for
    the others. Every job seed derives from the job's dataset name
    (:func:`derive_seed`), so each replica draws its own data, trains its own
    networks and samples its own chains, and the first is the study of one seed.

    Examples:
        >>> replica("rings", 1), replica("rings", 3)
        ('rings', 'rings.seed3')
    """
    if k < 1:
        raise ValueError(f"replicas count from 1, got {k}")
    return name if k == 1 else f"{name}{SEP}{k}"


def replicas(names: list[str], seeds: int) -> list[str]:
    """Every replica of every dataset, seed by seed: the names of a study over
    `seeds` seeds.

    Examples:
        >>> replicas(["a", "b"], 2)
        ['a', 'b', 'a.seed2', 'b.seed2']
    """
    return [replica(n, k) for k in range(1, seeds + 1) for n in names]


def split(name: str) -> tuple[str, int]:
    """(dataset, k) of a replica's name: the inverse of :func:`replica`.

    Examples:
        >>> split("rings"), split("rings.seed3")
        (('rings', 1), ('rings', 3))
    """
    base, sep, k = name.partition(SEP)
    return (base, int(k)) if sep and k.isdigit() else (name, 1)
