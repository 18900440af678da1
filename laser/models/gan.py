"""The GAN of LaSeR: the refiner phi: y -> z trained on weighted latent points
(weighted BCE), and with unit weights a GAN generator g: z -> x of the data."""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from laser.nn import mlp
from laser.progress import Progress, rng_state, set_rng_state
from laser.seeding import torch_generator
from laser.training import (
    OptimConfig,
    check_finite,
    ema_update,
    make_optimizer,
    minibatches,
    timing,
)

__all__ = [
    "GANConfig",
    "Generator",
    "build",
    "discriminator_loss",
    "ema_update",
    "generator_loss",
    "train",
    "sample",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GANConfig:
    """Architecture of the refiner GAN (arXiv:2106.00792, Sec. 4.1)."""

    latent_dim: int = 4  # dimension L of the auxiliary latent space y ~ N(0, I)
    hidden_layers: int = 7  # hidden layers of generator and discriminator
    hidden_units: int = 100  # units per hidden layer
    d_updates: int = 4  # discriminator updates per generator update
    # phi(y) = y[:, :D] + net(y) with net's output layer starting at zero, so that
    # training starts from the baseline (g(phi(y)) = g(y[:, :D])) and learns the
    # correction; False is the paper's plain network
    residual: bool = False
    # decay of an exponential moving average of the generator's parameters over
    # its updates (Yazici et al., arXiv:1806.04498; :func:`ema_update`), which
    # `train` returns in place of the last iterate; 0 is the paper's last
    # iterate, 0.999 averages over about the last 1000 generator updates
    ema: float = 0.0

    def __post_init__(self) -> None:
        for name in ("latent_dim", "hidden_layers", "hidden_units", "d_updates"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")


class Generator(nn.Module):
    """An MLP generator from a latent y ~ N(0, I_L) (N, L) to points (N, D).

    As the refiner phi(y) it maps an auxiliary latent y to refined latent points
    z of g; as a GAN baseline (:mod:`laser.models.generators`) it is g itself, from its
    latent z to data x."""

    def __init__(self, dim: int, config: GANConfig):
        super().__init__()
        if config.residual and config.latent_dim < dim:
            raise ValueError(
                f"a residual refiner needs latent_dim >= {dim} (the latent "
                f"dimension of g), got latent_dim {config.latent_dim}"
            )
        self.dim = dim
        self.config = config
        self.net = mlp(
            config.latent_dim, dim, config.hidden_layers, config.hidden_units
        )
        if config.residual:
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)

    @property
    def hparams(self) -> dict[str, Any]:
        """Everything `build` needs to rebuild this model (`ema`, a training
        setting, only where it is on, so that checkpoints without it stay as
        they were)."""
        config = asdict(self.config)
        if not config["ema"]:
            del config["ema"]
        return {"kind": "gan", "dim": self.dim, **config}

    @property
    def latent_dim(self) -> int:
        """Dimension L of the generator's latent space."""
        return self.config.latent_dim

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.config.residual:
            return y[:, : self.dim] + self.net(y)
        return self.net(y)

    def generate(self, y: torch.Tensor) -> torch.Tensor:
        """The generator's map (N, L) -> (N, D): the interface shared with
        :meth:`laser.models.flows.RealNVP.generate`."""
        return self(y)


def build(hparams: dict[str, Any]) -> Generator:
    """Rebuild a Generator from its hparams (kind `gan`; `gan_refiner` in
    checkpoints written before the GAN baseline existed)."""
    hp = dict(hparams)
    if hp.pop("kind", "gan") not in ("gan", "gan_refiner"):
        raise ValueError(f"not a GAN refiner checkpoint: {hparams}")
    return Generator(hp.pop("dim"), GANConfig(**hp))


def discriminator_loss(
    d_real: torch.Tensor, d_fake: torch.Tensor, w: torch.Tensor | None = None
) -> torch.Tensor:
    """Weighted BCE of the discriminator: real points count with their weights.

    L_D = -sum_i w_i log D(z_i) / sum_i w_i - mean_j log(1 - D(phi(y_j))),
    the weighted GAN loss of Backes et al., SciPost Phys. 10 (2021) 089, as used
    by arXiv:2106.00792 (Sec. 3, 4.1). With w = 1 it is the standard GAN loss.

    Args:
        d_real: discriminator logits of (weighted) training points (N,).
        d_fake: discriminator logits of generated points (M,).
        w: weights of the training points (N,), or None for unit weights.
    """
    real = F.binary_cross_entropy_with_logits(
        d_real, torch.ones_like(d_real), reduction="none"
    )  # (N,)
    real = real.mean() if w is None else (w * real).sum() / w.sum()
    fake = F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
    return real + fake


def generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss -mean log D(phi(y))."""
    return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))


def train(
    z: np.ndarray,
    w: np.ndarray | None,
    config: GANConfig,
    optim: OptimConfig,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    stage: str = "refiner",
    progress: Progress | None = None,
) -> Generator:
    """Train the generator on weighted points (z, w(z)) (Sec. 3): the refiner on
    the weighted latent points of g, or with ``w=None`` (unit weights, the
    standard GAN loss) a GAN baseline on the data.

    Each minibatch of real points gets `d_updates` discriminator updates (fresh
    noise each) followed by one generator update; an epoch visits every point
    once; both learning rates decay by `lr_decay` per epoch (Sec. 4.1).

    Args:
        stage: names the network in the log and in errors (`refiner`,
            `baseline`).
        progress: the job's saved progress: the loop saves both networks,
            optimisers and schedulers and the random states at its interval, at
            the end, and on a signal after the minibatch it is in; it continues
            from a save of the same job.

    Returns:
        The trained generator (the discriminator is not needed afterwards):
        with ``config.ema`` > 0 the moving average of its parameters over its
        updates (:func:`ema_update`; saved with the progress), else the last
        iterate.
    """
    if w is None:
        w = np.ones(len(z))
    if w.shape != (len(z),):
        raise ValueError(f"{len(z)} points but weights of shape {w.shape}")
    torch.manual_seed(seed)
    dim = z.shape[1]
    gen = Generator(dim, config).to(device=device, dtype=dtype)
    disc = mlp(dim, 1, config.hidden_layers, config.hidden_units).to(device, dtype)
    opt_g, sched_g = make_optimizer(gen.parameters(), optim)
    opt_d, sched_d = make_optimizer(disc.parameters(), optim)
    zt = torch.as_tensor(z, dtype=dtype, device=device)
    wt = torch.as_tensor(w, dtype=dtype, device=device)
    shuffle = torch_generator(seed + 1)
    noise = torch_generator(seed + 2, device=device)
    log.info("GAN %s %s, %d weighted points", stage, config, len(z))
    nets = {"gen": gen, "disc": disc, "opt_g": opt_g, "opt_d": opt_d}
    nets.update(sched_g=sched_g, sched_d=sched_d)
    # the moving average of the generator (config.ema), after `averaged` updates
    avg = copy.deepcopy(gen).requires_grad_(False) if config.ema else None
    if avg is not None:
        nets["ema"] = avg
    spent, averaged = 0.0, 0  # spent: seconds of the epochs before a resume

    def state() -> dict:
        extra = {} if avg is None else {"ema_updates": averaged}
        return {
            **{name: obj.state_dict() for name, obj in nets.items()},
            "rng": rng_state(shuffle, noise),
            "seconds": spent + time.perf_counter() - start,
            **extra,
        }

    progress = progress or Progress.off()
    with progress.loop(f"GAN {stage}", optim.epochs) as loop:
        saved = loop.resume()
        within = None  # how far into an epoch a save made on a signal got
        if saved is not None:
            with loop.restoring():
                for name, obj in nets.items():
                    obj.load_state_dict(saved[name])
                set_rng_state(saved["rng"], shuffle, noise)
                averaged = saved["ema_updates"] if avg is not None else 0
            spent, within = saved["seconds"], saved.get("within")
        start = time.perf_counter()
        for epoch in range(1 + (saved or {}).get("done", 0), optim.epochs + 1):
            t0, d_sum, g_sum, steps = time.perf_counter(), 0.0, 0.0, 0
            order = shuffle.get_state()  # before the epoch's permutation
            if within is not None:  # the rest of the epoch a signal stopped
                order, (d_sum, g_sum, steps) = within["shuffle"], within["sums"]
                shuffle.set_state(order)
                within = None
            for step, idx in enumerate(
                minibatches(len(zt), optim.batch_size, shuffle, zt.device), 1
            ):
                if step <= steps:
                    continue
                real, wb = zt[idx], wt[idx]
                for _ in range(config.d_updates):
                    y = torch.randn(
                        len(idx),
                        config.latent_dim,
                        generator=noise,
                        device=device,
                        dtype=dtype,
                    )
                    with torch.no_grad():
                        fake = gen(y)
                    d_loss = discriminator_loss(
                        disc(real).squeeze(-1), disc(fake).squeeze(-1), wb
                    )
                    check_finite(d_loss, f"{stage} discriminator", epoch, step)
                    opt_d.zero_grad(set_to_none=True)
                    d_loss.backward()
                    opt_d.step()
                y = torch.randn(
                    len(idx),
                    config.latent_dim,
                    generator=noise,
                    device=device,
                    dtype=dtype,
                )
                g_loss = generator_loss(disc(gen(y)).squeeze(-1))
                check_finite(g_loss, f"{stage} generator", epoch, step)
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()
                if avg is not None:
                    averaged += 1
                    ema_update(avg, gen, config.ema, averaged)
                d_sum, g_sum, steps = (
                    d_sum + d_loss.item(),
                    g_sum + g_loss.item(),
                    steps + 1,
                )
                if loop.stopping:  # a signal: save now, an epoch can be long
                    where = {"shuffle": order, "batch": step}
                    where["sums"] = (d_sum, g_sum, steps)
                    at = f"minibatch {step} of epoch {epoch}/{optim.epochs}"
                    loop.interrupt(epoch - 1, {**state(), "within": where}, at)
            sched_g.step()
            sched_d.step()
            now = time.perf_counter()
            log.info(
                "%s epoch %d/%d d_loss %.5f g_loss %.5f lr %.3g %s",
                stage,
                epoch,
                optim.epochs,
                d_sum / steps,
                g_sum / steps,
                opt_g.param_groups[0]["lr"],
                timing(now - t0, spent + now - start, epoch, optim.epochs),
            )
            loop.step(epoch, state)
    if avg is not None:  # the averaged generator is the one trained
        gen.load_state_dict(avg.state_dict())
    gen.eval()
    return gen


@torch.no_grad()
def sample(gen: Generator, n: int, seed: int, batch_size: int = 100_000) -> np.ndarray:
    """Refined latent points z = phi(y), y ~ N(0, I_L): (n, D) float32."""
    param = next(gen.parameters())
    y = torch.randn(
        n, gen.config.latent_dim, generator=torch_generator(seed), dtype=torch.float64
    )  # (n, L)
    z = [gen(b.to(param)).cpu() for b in torch.split(y, batch_size)]
    return torch.cat(z).numpy().astype(np.float32)
