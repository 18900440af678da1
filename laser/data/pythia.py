"""Pythia 8 events e+e- -> gamma*/Z -> hadrons at the Z pole, as event shapes."""

from __future__ import annotations

import logging
import multiprocessing

import numpy as np
import pandas as pd

from laser.data import shapes
from laser.seeding import derive_seed

__all__ = ["DEFAULT", "BOUNDS", "POSITIVE", "settings", "generate"]

logger = logging.getLogger(__name__)

# The columns of `generate` by default (any of `shapes.OBSERVABLES` may be asked for).
DEFAULT = (
    "one_minus_thrust",
    "c_parameter",
    "sphericity",
    "aplanarity",
    "heavy_mass",
    "y23",
    "multiplicity",
)
# Columns with a bounded range, for a logit transform: (low, high).
BOUNDS = {
    "one_minus_thrust": (0.0, 0.5),
    "c_parameter": (0.0, 1.0),
    "sphericity": (0.0, 1.0),
    "aplanarity": (0.0, 0.5),
}
# Columns that are positive with a long tail to zero, for a log transform
# (rho_H and B_T, B_W are also below 1, y23 below 1/3 for massless particles).
POSITIVE = ("heavy_mass", "y23", "total_broadening", "wide_broadening")
BLOCK = 10_000  # events per independent Pythia stream, each with a derived seed
_SEED_RANGE = 900_000_000  # Pythia's Random:seed is in [1, 9e8]; 0 means the clock


def settings(seed: int, sqrt_s: float = 91.2) -> list[str]:
    """Pythia settings for e+e- -> gamma*/Z -> u, d, s, c, b quarks -> hadrons.

    No photon radiation off the beams (`PDF:lepton = off`): every event is in
    its rest frame. `seed` goes in as given, modulo 9e8, and 0 becomes 1.
    """
    seed = int(seed) % _SEED_RANGE or 1
    return [
        "Beams:idA = 11",
        "Beams:idB = -11",
        f"Beams:eCM = {float(sqrt_s)!r}",
        "WeakSingleBoson:ffbar2gmZ = on",
        "23:onMode = off",
        "23:onIfAny = 1 2 3 4 5",
        "PDF:lepton = off",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        "Next:numberCount = 0",
        "Print:quiet = on",
    ]


def _pythia(seed: int, sqrt_s: float):
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)  # no banner
    for line in settings(seed, sqrt_s):
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise RuntimeError("Pythia failed to initialise")
    return pythia


def _visible(pythia, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Momenta (b, M, 3), energies (b, M) and mask (b, M) of the visible final
    particles (`isFinal()` and `isVisible()`: no neutrinos) of `size` new events."""
    import awkward as ak

    prt = pythia.nextBatch(size).prt
    count = ak.to_numpy(ak.num(prt.id))  # (b,) entries of each event record
    ids = ak.to_numpy(ak.flatten(prt.id))
    unique = np.unique(ids)
    visible = np.array([pythia.particleData.isVisible(int(i)) for i in unique])
    keep = (ak.to_numpy(ak.flatten(prt.status)) > 0) & visible[
        np.searchsorted(unique, ids)
    ]
    event = np.repeat(np.arange(len(count)), count)[keep]
    n = np.bincount(event, minlength=len(count))  # (b,)
    slot = np.arange(len(event)) - np.repeat(np.cumsum(n) - n, n)
    mask = np.zeros((len(count), max(int(n.max(initial=0)), 1)), bool)
    mask[event, slot] = True
    p = np.zeros((*mask.shape, 3))
    e = np.zeros(mask.shape)
    for k, name in enumerate(("px", "py", "pz")):
        p[event, slot, k] = ak.to_numpy(ak.flatten(prt.p[name]))[keep]
    e[event, slot] = ak.to_numpy(ak.flatten(prt.p.e))[keep]
    return p, e, mask


def _block(task: tuple[int, int, float, tuple[str, ...], int, bool]) -> pd.DataFrame:
    """`size` events of one Pythia stream seeded with `seed`, as observables."""
    size, seed, sqrt_s, observables, batch, exact = task
    pythia = _pythia(seed, sqrt_s)
    parts, done = [], 0
    while done < size:
        p, e, mask = _visible(pythia, min(batch, size - done))
        parts.append(
            pd.DataFrame(
                shapes.event_shapes(p, mask, e, names=observables, exact=exact)
            )
        )
        done += len(parts[-1])
    return pd.concat(parts, ignore_index=True)


def generate(
    n: int,
    seed: int,
    *,
    sqrt_s: float = 91.2,
    observables: tuple[str, ...] = DEFAULT,
    batch: int = 2_000,
    block: int = BLOCK,
    processes: int = 1,
    exact_thrust: bool = True,
) -> pd.DataFrame:
    """Generate `n` hadronic Z decays with Pythia 8 and reduce them to event shapes.

    e+e- -> gamma*/Z -> q qbar (q = u, d, s, c, b) at `sqrt_s`, Pythia's default
    shower and hadronisation (pi0 and other short-lived hadrons decayed). The
    visible final particles (all but neutrinos) of each event give one row of
    `observables` (see `laser.data.shapes.event_shapes`); `multiplicity` is their
    number. Bounded columns are listed in `BOUNDS`, positive ones in `POSITIVE`.

    The events come in blocks of `block`, block b from its own Pythia stream
    seeded with `derive_seed(seed, "pythia", b)`; the blocks run on `processes`
    worker processes and are concatenated in order, so the result depends on
    (n, seed, sqrt_s, block) only, not on `batch` (events per read of the event
    record, memory only) or `processes`.

    Args:
        n: Number of events (rows).
        seed: Seed of the run.
        sqrt_s: Centre-of-mass energy in GeV.
        observables: Columns, names from `laser.data.shapes.OBSERVABLES`.
        batch: Events generated and reduced at a time.
        block: Events per Pythia stream.
        processes: Worker processes (1: in this process).
        exact_thrust: Exact thrust axis (else seeded fixed-point steps, about
            5 times faster, off by up to 2e-4 in about 2 events in 10^4; see
            `laser.data.shapes.thrust_axis`).

    Returns:
        A DataFrame with `n` rows and the columns `observables`.

    References:
        C. Bierlich et al., "A comprehensive guide to the physics and usage of
        PYTHIA 8.3", SciPost Phys. Codeb. 8 (2022), arXiv:2203.11601.
    """
    if n < 0 or batch < 1 or block < 1 or processes < 1:
        raise ValueError("n must be >= 0 and batch, block, processes >= 1")
    unknown = sorted(set(observables) - set(shapes.OBSERVABLES))
    if unknown:
        raise ValueError(f"unknown observables {unknown}")
    sizes = [min(block, n - start) for start in range(0, n, block)]
    tasks = [
        (
            size,
            derive_seed(seed, "pythia", b),
            sqrt_s,
            tuple(observables),
            batch,
            exact_thrust,
        )
        for b, size in enumerate(sizes)
    ]
    logger.info(
        "Pythia: %d events in %d blocks, %d processes", n, len(tasks), processes
    )
    if processes == 1 or len(tasks) <= 1:
        parts = [_block(task) for task in tasks]
    else:
        # fork: workers do not re-run an unguarded main script (Snakemake's)
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ctx.Pool(min(processes, len(tasks))) as pool:
            parts = list(pool.imap(_block, tasks))
    if not parts:
        return pd.DataFrame({name: np.zeros(0) for name in observables})
    return pd.concat(parts, ignore_index=True)
