"""The one way from a config section (a plain dict, as the rules pass it through
``params:``) to the science's frozen settings dataclasses: :func:`flat` for a
section of one dataclass's fields, :func:`split` for a training section
(architecture and optimiser), :func:`baseline` and :func:`refiner` where a kind
chooses the architecture. The dataclass is passed in where the kind does not
choose it, so that a script's code inputs are the modules it uses.

Every default and bound of a key is written once, in the dataclass that uses it
or, for the optimiser keys whose defaults differ per section, in the schema; the
tests check each against the other (``tests/unit/workflow/test_settings.py``).
"""

from __future__ import annotations

from typing import Any

from laser.models.flows import FlowConfig
from laser.models.gan import GANConfig
from laser.training import OptimConfig

__all__ = [
    "OPTIM_KEYS",
    "optim",
    "split",
    "baseline",
    "flat",
    "refiner",
    "omnifold",
]

Section = dict[str, Any]

#: The optimiser keys of a training section (``beta1`` and ``beta2`` become betas).
OPTIM_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "lr_decay")


def optim(section: Section) -> OptimConfig:
    """The optimiser keys of a section as an :class:`~laser.training.OptimConfig`.

    Examples:
        >>> optim({"epochs": 5, "lr": 1e-3, "beta1": 0.5, "beta2": 0.9}).betas
        (0.5, 0.9)
    """
    kwargs: dict[str, Any] = {k: section[k] for k in OPTIM_KEYS if k in section}
    if "beta1" in section:
        kwargs["betas"] = (section["beta1"], section["beta2"])
    return OptimConfig(**kwargs)


def split(section: Section, arch_cls: type) -> tuple[Any, OptimConfig]:
    """A training section as (architecture dataclass ``arch_cls``, OptimConfig)."""
    fields = arch_cls.__dataclass_fields__
    arch = arch_cls(**{k: v for k, v in section.items() if k in fields})
    return arch, optim(section)


def baseline(section: Section) -> tuple[FlowConfig | GANConfig, OptimConfig]:
    """The ``baseline`` section: a flow's keys at its top level, a GAN's under
    ``gan``, chosen by ``kind``."""
    kind = section.get("kind", "flow")
    if kind == "flow":
        return split(section, FlowConfig)
    if kind == "gan":
        return split(section["gan"], GANConfig)
    raise ValueError(f"baseline.kind must be one of ['flow', 'gan'], got {kind!r}")


def flat(cls: type, section: Section) -> Any:
    """A section whose keys are the fields of ``cls`` (``hmc``, ``rejection``,
    ``langevin``): ``cls(**section)``, which checks every value."""
    return cls(**section)


def refiner(
    section: Section, latent_dim: int | None = None
) -> tuple[GANConfig | FlowConfig, OptimConfig, int | None]:
    """The ``refiner`` section: the GAN's keys at its top level, the flow
    refiner's under ``flow``, chosen by ``kind``; and ``n_train`` (None: all).

    A GAN's ``latent_dim: null`` becomes L + 2 for the generator's latent
    dimension L (`latent_dim`), the paper's 4 for its 2-D latent spaces.

    Examples:
        >>> refiner({"kind": "gan", "latent_dim": None}, latent_dim=6)[0].latent_dim
        8
    """
    kind = section.get("kind", "gan")
    if kind == "gan":
        if section.get("latent_dim", 4) is None:
            if latent_dim is None:
                raise ValueError("refiner.latent_dim null needs the latent dimension L")
            section = {**section, "latent_dim": latent_dim + 2}
        arch, opt = split(section, GANConfig)
    elif kind == "flow":
        arch, opt = split(section["flow"], FlowConfig)
    else:
        raise ValueError(f"refiner.kind must be one of ['gan', 'flow'], got {kind!r}")
    return arch, opt, section.get("n_train")


def omnifold(section: Section, cls: type, step_cls: type) -> Any:
    """The ``omnifold`` section: ``iterations``, and ``step1`` and ``step2`` with
    the classifier's architecture and optimiser keys each: a ``cls``
    (:class:`~laser.blackbox.omnifold.OmniFoldConfig`) with ``step_cls``
    (:class:`~laser.models.classifier.ClassifierConfig`) steps.

    Raises:
        ValueError: for an unknown key.
    """
    unknown = sorted(set(section) - {"iterations", "step1", "step2"})
    if unknown:
        raise ValueError(
            f"unknown omnifold key(s) {unknown}; allowed: "
            "['iterations', 'step1', 'step2']"
        )
    kwargs: dict[str, Any] = {}
    if "iterations" in section:
        kwargs["iterations"] = section["iterations"]
    for step in ("step1", "step2"):
        if step in section:
            arch, opt = split(section[step], step_cls)
            kwargs[step], kwargs[f"{step}_optim"] = arch, opt
    return cls(**kwargs)
