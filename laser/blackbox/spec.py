"""The workflow's black box from config: a ``"package.module:name"`` spec
(:func:`resolve`) and a plain dict of options (:func:`make`), with the trained
baseline passed to a factory that takes one (:func:`load`)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from laser import io, specs
from laser.blackbox.base import BlackBox
from laser.models import generators

__all__ = ["resolve", "make", "load"]

log = logging.getLogger(__name__)


def resolve(spec: str) -> Callable[..., Any]:
    """Import ``"package.module:name"`` (name may be dotted: ``"mod:Cls.make"``).

    Raises:
        ValueError: naming the spec, when it is malformed, its module cannot
            be imported, the name is missing, or the object is not callable.

    Examples:
        >>> from laser.blackbox.boxes import GaussianSmear
        >>> resolve("laser.blackbox:GaussianSmear") is GaussianSmear
        True
    """
    obj = specs.resolve(spec, "black box")
    if not callable(obj) and not isinstance(obj, BlackBox):
        raise ValueError(
            f"black box {spec!r}: {type(obj).__name__} object is not callable"
        )
    return obj


def make(
    spec: str,
    options: dict[str, Any] | None = None,
    generator: nn.Module | None = None,
) -> BlackBox:
    """The black box named in config: ``spec`` with its plain ``options``.

    ``spec`` names a :class:`BlackBox` instance (then ``options`` must be
    empty), or a factory (a class or function) that returns one when called
    with ``**options``, plus ``generator=`` where it takes that argument (the
    trained generator a black box such as :class:`SmearedGenerator` is built on).

    Raises:
        ValueError: naming the spec, when it cannot be resolved, the factory
            rejects the options, or the result is not a black box.
    """
    options = dict(options or {})
    obj = resolve(spec)
    if isinstance(obj, BlackBox) and not inspect.isclass(obj):
        if options:
            raise ValueError(
                f"black box {spec!r} is an instance; it takes no options, "
                f"got {sorted(options)}"
            )
        return obj
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        params = {}
    if "generator" in params:
        if generator is None:
            raise ValueError(f"black box {spec!r} is built on a generator; none given")
        options["generator"] = generator
    try:
        box = obj(**options)
    except TypeError as e:
        raise ValueError(f"black box {spec!r}: bad options {options} ({e})") from None
    if not isinstance(box, BlackBox):
        raise ValueError(
            f"black box {spec!r} gave a {type(box).__name__}, not a black box "
            "(latent_dim, stochastic, sample(z, rng))"
        )
    log.info("black box %s (stochastic: %s), options %s", spec, box.stochastic, options)
    return box


def load(
    spec: str,
    options: dict[str, Any],
    baseline: str,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> BlackBox:
    """The workflow's black box: :func:`make` with the trained baseline generator
    of the checkpoint ``baseline`` (passed to a factory that takes one)."""
    g = io.load_model(baseline, generators.build, dtype, device)
    return make(spec, options, generator=g)
