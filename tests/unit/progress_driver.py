"""Runs one kind of long loop, small, with saved progress, for test_progress.py.

    python progress_driver.py KIND PROGRESS_DIR OUT [--off | --signal [SIG:K]]

writes the loop's result (a model's state or the samples) to OUT as bytes, and
logs to stderr. Each step sleeps 40 ms and saves, so that a test can kill the
process between any two steps. --off runs without saved progress (the
reference); --signal saves only on a signal (and at the end), and with SIG:K the
process sends itself signal SIG in its K-th minibatch of training.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import time

import numpy as np
import torch

from laser import progress as progress_module
from laser.blackbox import omnifold
from laser.latent import hmc, langevin, rejection
from laser.models import classifier, flows, gan
from laser.progress import Progress
from laser.training import OptimConfig

STEP_SECONDS = 0.04


def _slow_step(step, seconds=STEP_SECONDS):
    def slowed(self, *args, **kwargs):
        time.sleep(seconds)
        return step(self, *args, **kwargs)

    return slowed


def state_bytes(module: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getvalue()


def gaussian(z: torch.Tensor) -> torch.Tensor:  # log N(z; 1, 0.5^2 I) + const
    return -0.5 * (((z - 1.0) / 0.5) ** 2).sum(1)


def run(kind: str, progress: Progress) -> bytes:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    optim = OptimConfig(epochs=12, batch_size=100, weight_decay=1e-5)
    f64 = torch.float64
    if kind == "flow":
        arch = flows.FlowConfig(n_blocks=2, hidden_layers=1, hidden_units=8)
        return state_bytes(flows.train(x, arch, optim, 1, dtype=f64, progress=progress))
    if kind == "classifier":
        arch = classifier.ClassifierConfig(hidden_layers=2, hidden_units=8)
        w = rng.uniform(0.5, 2.0, size=400)
        model = classifier.train(
            x, x + 0.3, arch, optim, 2, f64, w_gen=w, progress=progress
        )
        return state_bytes(model)
    if kind == "gan":
        arch = gan.GANConfig(latent_dim=4, hidden_layers=2, hidden_units=8)
        w = rng.uniform(0.5, 2.0, size=400)
        return state_bytes(gan.train(x, w, arch, optim, 3, f64, progress=progress))
    if kind == "omnifold":
        arch = classifier.ClassifierConfig(hidden_layers=2, hidden_units=8)
        short = OptimConfig(epochs=4, batch_size=100)
        config = omnifold.OmniFoldConfig(2, arch, short, arch, short)
        z = rng.normal(size=(400, 3))
        x_gen = z + rng.normal(scale=0.5, size=z.shape)
        result = omnifold.pull_back(
            z, x_gen, x + 0.2, config, 4, f64, progress=progress
        )
        return state_bytes(result.latent_weight) + result.log_nu.tobytes()
    init = torch.zeros(20, 3, dtype=f64)
    gen = torch.Generator().manual_seed(5)
    if kind == "hmc":
        config = hmc.HMCConfig(
            step_size=0.1,
            n_leapfrog=5,
            n_chains=20,
            burn_in=10,
            adapt_step_size=True,
            log_every=5,
            jump_every=3,
        )
        result = hmc.sample(gaussian, init, 390, config, gen, progress)
        extra = np.array([result.acceptance_rate, result.step_size, result.jump_rate])
    elif kind == "langevin":
        config = langevin.LangevinConfig(
            step_size=0.01, n_chains=20, n_steps=10, thin=2, log_every=5
        )
        result = langevin.langevin_sample(gaussian, init, 300, config, gen, progress)
        extra = np.array([result.step_size])
    elif kind == "rejection":
        config = rejection.RejectionConfig(pilot=200, chunk_size=200)
        result = rejection.rejection_sample(
            gaussian, 3, 300, config, gen, progress=progress
        )
        extra = np.array([result.acceptance_rate, result.bound, result.mean_weight])
    else:
        raise SystemExit(f"unknown kind {kind}")
    return result.samples.numpy().tobytes() + extra.tobytes()


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s"
    )
    kind, directory, out = sys.argv[1:4]
    if "--signal" in sys.argv:
        at = sys.argv[sys.argv.index("--signal") + 1 :]
        if at:  # signal SIG in the K-th minibatch (each asks whether to stop)
            sig, k = map(int, at[0].split(":"))
            stopping = progress_module.Loop.stopping.fget
            calls = iter(range(1, 10**9))

            def signalled(self):
                if next(calls) == k:
                    os.kill(os.getpid(), sig)
                    time.sleep(0.01)  # the handler runs
                return stopping(self)

            progress_module.Loop.stopping = property(signalled)
        p = Progress(directory, key=f"test-{kind}")
    else:
        progress_module.Loop.step = _slow_step(progress_module.Loop.step)
        p = Progress(directory, key=f"test-{kind}", every_steps=1)
    if "--off" in sys.argv:
        p = Progress.off()
    data = run(kind, p)
    with open(out, "wb") as f:
        f.write(data)
    p.clear()
