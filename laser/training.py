"""The shared training loop: Adam, exponential LR decay, progress, NaN guard, device."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from laser.progress import Progress, rng_state, set_rng_state

__all__ = [
    "OptimConfig",
    "make_optimizer",
    "minibatches",
    "check_finite",
    "ema_update",
    "fit",
    "timing",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser settings (arXiv:2106.00792, Sec. 4.1)."""

    epochs: int = 100  # passes over the training set
    batch_size: int = 2000  # points per update
    lr: float = 1e-3  # Adam's initial learning rate
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's beta1, beta2
    weight_decay: float = 0.0  # L2 penalty in Adam
    lr_decay: float = 0.999  # learning rate factor applied after each epoch

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.lr <= 1:
            raise ValueError(f"lr must be in (0, 1], got {self.lr}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        object.__setattr__(self, "betas", tuple(self.betas))


def make_optimizer(
    params: Sequence[torch.nn.Parameter] | Iterator[torch.nn.Parameter],
    config: OptimConfig,
) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.ExponentialLR]:
    """Adam with the configured betas and weight decay, and x lr_decay per epoch."""
    trainable = [p for p in params if p.requires_grad]
    opt = torch.optim.Adam(
        trainable, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay
    )
    return opt, torch.optim.lr_scheduler.ExponentialLR(opt, gamma=config.lr_decay)


def minibatches(
    n: int, batch_size: int, generator: torch.Generator, device: torch.device
) -> Iterator[torch.Tensor]:
    """Shuffled index batches covering all `n` rows once (an epoch)."""
    perm = torch.randperm(n, generator=generator).to(device)
    yield from torch.split(perm, batch_size)


def check_finite(loss: torch.Tensor, stage: str, epoch: int, step: int) -> None:
    """Stop training on a NaN or infinite loss, naming stage, epoch and step."""
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"{stage}: loss is {loss.item()} at epoch {epoch}, step {step}; "
            "no model is written (lower the learning rate or check the input data)"
        )


def timing(epoch_seconds: float, total_seconds: float, epoch: int, epochs: int) -> str:
    """The time of an epoch, the total so far and the estimated time to the end
    (the mean epoch so far times the epochs left), for the epoch's log line.

    Examples:
        >>> timing(2.0, 30.0, 3, 10)
        'time 2.0s (total 30.0s, ETA 70s)'
        >>> timing(60.0, 600.0, 10, 200)
        'time 60.0s (total 600.0s, ETA 3.2 h)'
    """
    left = total_seconds / epoch * (epochs - epoch)
    if left < 120:
        eta = f"{left:.0f}s"
    elif left < 5400:
        eta = f"{left / 60:.0f} min"
    else:
        eta = f"{left / 3600:.1f} h"
    return f"time {epoch_seconds:.1f}s (total {total_seconds:.1f}s, ETA {eta})"


@torch.no_grad()
def ema_update(avg: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    """Move `avg` to the average of `model`'s parameters after its `step`-th
    update (step >= 1): the bias-corrected exponential moving average

        avg_t = (1 - decay) / (1 - decay^t) * sum_{k=1}^t decay^(t-k) theta_k,

    by avg_t = avg_{t-1} + (theta_t - avg_{t-1}) (1 - decay) / (1 - decay^t).
    So avg_1 = theta_1 (the initialisation gets no share; decay 0 is the last
    iterate), and for t >> 1 / (1 - decay) it is the plain moving average over
    about the last 1 / (1 - decay) updates. Buffers are copied, not averaged.
    """
    weight = (1 - decay) / (1 - decay**step)
    for a, p in zip(avg.parameters(), model.parameters(), strict=True):
        a.lerp_(p, weight)  # exactly p at weight 1
    for a, b in zip(avg.buffers(), model.buffers(), strict=True):
        a.copy_(b)


def fit(
    model: torch.nn.Module,
    loss_fn: Callable[..., torch.Tensor],
    tensors: Sequence[torch.Tensor],
    config: OptimConfig,
    generator: torch.Generator,
    stage: str,
    progress: Progress | None = None,
    refresh: Callable[[int], Sequence[torch.Tensor]] | None = None,
    average: float = 0.0,
) -> list[float]:
    """Minimise `loss_fn(*batch)` over minibatches of `tensors` with Adam.

    One epoch visits every row once; the learning rate is multiplied by
    `config.lr_decay` after each epoch (Sec. 4.1). Every epoch logs its mean
    loss, learning rate and wall time.

    Args:
        model: the module whose parameters are trained.
        loss_fn: maps a batch (one slice of each tensor) to a scalar loss.
        tensors: training tensors with equal first dimension, on the model's device.
        config: optimiser settings.
        generator: CPU generator for the shuffling.
        stage: name used in log lines and errors (e.g. "train_baseline").
        progress: the job's saved progress: the loop saves the model, the
            optimiser, the scheduler and the random states at its interval, at
            the end, and on a signal after the minibatch it is in; it continues
            from a save of the same job.
        refresh: epoch e -> the tensors of epoch e (shapes as `tensors`), called
            at the start of every epoch (a fresh generated sample per epoch); a
            function of e alone, so that a resumed loop sees the same tensors.
        average: decay of an exponential moving average of the parameters
            over the updates (:func:`ema_update`; saved with the progress),
            which the model takes at the end in place of the last iterate; 0
            keeps the last iterate.

    Returns:
        The mean training loss of each epoch.
    """
    opt, sched = make_optimizer(model.parameters(), config)
    n = tensors[0].shape[0]
    history: list[float] = []
    spent = 0.0  # seconds of the epochs before a resume
    if not 0 <= average < 1:
        raise ValueError(f"average must be in [0, 1), got {average}")
    # the moving average of the parameters, after `averaged` updates
    avg = copy.deepcopy(model).requires_grad_(False) if average else None
    averaged = 0

    def state() -> dict:
        extra = (
            {} if avg is None else {"average": avg.state_dict(), "averaged": averaged}
        )
        return {
            **extra,
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "rng": rng_state(generator),
            "history": list(history),
            "seconds": spent + time.perf_counter() - start,
        }

    progress = progress or Progress.off()
    with progress.loop(stage, config.epochs) as loop:
        saved = loop.resume()
        within = None  # how far into an epoch a save made on a signal got
        if saved is not None:
            with loop.restoring():
                model.load_state_dict(saved["model"])
                opt.load_state_dict(saved["optimizer"])
                sched.load_state_dict(saved["scheduler"])
                set_rng_state(saved["rng"], generator)
                if avg is not None:
                    avg.load_state_dict(saved["average"])
            history, spent = saved["history"], saved["seconds"]
            averaged = saved.get("averaged", 0)
            within = saved.get("within")
        start = time.perf_counter()
        model.train()
        for epoch in range(len(history) + 1, config.epochs + 1):
            t0, total, count, skip = time.perf_counter(), 0.0, 0, 0
            if refresh is not None:
                tensors = refresh(epoch)
            shuffle = generator.get_state()  # before the epoch's permutation
            if within is not None:  # the rest of the epoch a signal stopped
                shuffle, skip = within["shuffle"], within["batch"]
                total, count = within["total"], within["count"]
                generator.set_state(shuffle)
                within = None
            for step, idx in enumerate(
                minibatches(n, config.batch_size, generator, tensors[0].device), 1
            ):
                if step <= skip:
                    continue
                loss = loss_fn(*(t[idx] for t in tensors))
                check_finite(loss, stage, epoch, step)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if avg is not None:
                    averaged += 1
                    ema_update(avg, model, average, averaged)
                total += loss.item() * len(idx)
                count += len(idx)
                if loop.stopping:  # a signal: save now, an epoch can be long
                    where = {"shuffle": shuffle, "batch": step}
                    where.update(total=total, count=count)
                    at = f"minibatch {step} of epoch {epoch}/{config.epochs}"
                    loop.interrupt(epoch - 1, {**state(), "within": where}, at)
            sched.step()
            history.append(total / count)
            now = time.perf_counter()
            log.info(
                "%s epoch %d/%d loss %.5f lr %.3g %s",
                stage,
                epoch,
                config.epochs,
                history[-1],
                opt.param_groups[0]["lr"],
                timing(now - t0, spent + now - start, epoch, config.epochs),
            )
            loop.step(epoch, state)
    if avg is not None:
        model.load_state_dict(avg.state_dict())
    model.eval()
    return history
