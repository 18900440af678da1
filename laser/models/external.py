"""A generator of the user's own (any trained torch module mapping latent points to
data), brought into the workflow in place of the trained baseline."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from laser import specs

__all__ = ["External", "build", "load"]

log = logging.getLogger(__name__)


class External(nn.Module):
    """The user's generator g: z -> x, built by a factory named in config.

    The module the factory returns must map latent points z (N, L) ~ N(0, I_L)
    to data (N, D) by ``generate(z)`` (or by calling it, ``module(z)``) and name
    L as ``latent_dim`` (an attribute or property). Everything the workflow
    does with the trained baseline, it then does with this one: the classifier
    data vs g(z), the weights w(g(z)), HMC, rejection and Langevin in its latent
    space, and the refiner phi, for g(phi(y)). The gradient of w(g(z)) in z
    must flow through ``generate`` (a torch module of differentiable
    operations) for HMC and Langevin.

    Args:
        factory: ``"package.module:name"`` of a function or class returning the
            module when called with ``**options``.
        options: the factory's keyword arguments (plain values).
    """

    def __init__(self, factory: str, options: Mapping[str, Any] | None = None):
        super().__init__()
        self.factory = factory
        self.options = dict(options or {})
        make = specs.resolve(factory, "generator")
        if not callable(make):
            raise ValueError(f"generator {factory!r}: {make!r} is not callable")
        try:
            module = make(**self.options)
        except TypeError as e:
            raise ValueError(
                f"generator {factory!r} rejects the options {self.options}: {e}"
            ) from None
        if not isinstance(module, nn.Module):
            raise ValueError(
                f"generator {factory!r} returned a {type(module).__name__}, "
                "not a torch.nn.Module"
            )
        latent = getattr(module, "latent_dim", None)
        if isinstance(latent, bool) or not isinstance(latent, int) or latent < 1:
            raise ValueError(
                f"generator {factory!r}: the module must name its latent "
                f"dimension as an int attribute latent_dim >= 1, got {latent!r}"
            )
        self.module = module

    @property
    def hparams(self) -> dict[str, Any]:
        """Everything `build` needs to rebuild this model."""
        return {"kind": "external", "factory": self.factory, "options": self.options}

    @property
    def latent_dim(self) -> int:
        """Dimension L of the latent space z."""
        return int(self.module.latent_dim)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """The generator g(z): latent (N, L) to data (N, D)."""
        gen = getattr(self.module, "generate", None)
        return gen(z) if callable(gen) else self.module(z)


def build(hparams: Mapping[str, Any]) -> External:
    """Rebuild an :class:`External` from its hparams (as saved with it)."""
    if hparams.get("kind") != "external":
        raise ValueError(f"not an external generator checkpoint: {dict(hparams)}")
    return External(hparams["factory"], hparams.get("options"))


def load(
    factory: str,
    options: Mapping[str, Any] | None,
    state: Mapping[str, torch.Tensor],
    dim: int,
    where: str,
) -> External:
    """The user's generator with its trained weights, checked on a few points.

    Args:
        factory: ``"package.module:name"`` of the module's factory.
        options: the factory's keyword arguments.
        state: the module's state_dict (as saved by ``torch.save``).
        dim: the data's dimension D, which g(z) must have.
        where: the checkpoint's path, named in the messages.

    Raises:
        ValueError: naming the checkpoint, when the weights do not fit the
            module, or g(z) of a few prior points is not (n, D) and finite.
    """
    model = External(factory, options)
    try:
        model.module.load_state_dict(dict(state))
    except RuntimeError as e:
        raise ValueError(f"{where}: the weights do not fit {factory!r} ({e})") from None
    model.eval()
    z = torch.randn(16, model.latent_dim, generator=torch.Generator().manual_seed(0))
    param = next(iter(model.parameters()), None)
    if param is not None:
        z = z.to(param)
    with torch.no_grad():
        x = model.generate(z)
    if not isinstance(x, torch.Tensor) or tuple(x.shape) != (16, dim):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(
            f"{factory!r} with {where}: generate(z) of 16 latent points of "
            f"dimension {model.latent_dim} gave {shape}, expected (16, {dim}): "
            "the data's features"
        )
    if not torch.isfinite(x).all():
        raise ValueError(f"{factory!r} with {where}: generate(z) is not finite")
    log.info(
        "generator %s from %s: latent dimension %d", factory, where, model.latent_dim
    )
    return model
