"""The hop from a config section to its dataclass (laser.workflow.settings), and
the schema's defaults and bounds checked against the dataclasses' (each written
once, in one of the two, for every key both know)."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from laser.blackbox.omnifold import OmniFoldConfig
from laser.latent.hmc import HMCConfig
from laser.latent.langevin import LangevinConfig
from laser.latent.rejection import RejectionConfig
from laser.models.classifier import ClassifierConfig
from laser.models.flows import FlowConfig
from laser.models.gan import GANConfig
from laser.training import OptimConfig
from laser.workflow import settings

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())
# (schema definition, dataclass): every key both have shares default and bounds
PAIRS = [
    ("hmc", HMCConfig),
    ("rejection", RejectionConfig),
    ("langevin", LangevinConfig),
    ("flow", FlowConfig),
    ("flow", OptimConfig),  # the optimiser's defaults are the baseline flow's
    ("classifier", ClassifierConfig),
    ("refiner", GANConfig),
    ("gan_baseline", GANConfig),
    ("omnifold", OmniFoldConfig),  # a top-level section; step1/step2 are sections
]
# defaults that differ on purpose: the GAN baseline maps a 2-D latent space
# (the figures draw two latent axes) and the baseline flow decays its weights
SECTION_DEFAULTS = {("gan_baseline", "latent_dim"): 2, ("flow", "weight_decay"): 1e-5}
# bounds the schema adds for a section: the GAN baseline's 2-D latent minimum
SECTION_BOUNDS = {("gan_baseline", "latent_dim")}


def _properties(name: str) -> dict[str, dict]:
    out = {}
    section = SCHEMA["$defs"].get(name) or SCHEMA["properties"][name]
    for key, prop in section["properties"].items():
        merged = dict(prop)
        if "$ref" in merged:
            merged = {**SCHEMA["$defs"][merged.pop("$ref").split("/")[-1]], **merged}
        out[key] = merged
    return out


def _shared(name: str, cls: type) -> dict[str, dict]:
    fields = {f.name for f in dataclasses.fields(cls)}
    return {
        k: v
        for k, v in _properties(name).items()
        if k in fields and v.get("type") != "object"  # values, not sub-sections
    }


@pytest.mark.parametrize(
    "name, cls", PAIRS, ids=[f"{n}-{c.__name__}" for n, c in PAIRS]
)
def test_schema_defaults_are_the_dataclass_defaults(name, cls):
    shared = _shared(name, cls)
    assert shared, f"$defs.{name} shares no key with {cls.__name__}"
    default = cls()
    for key, prop in shared.items():
        expected = SECTION_DEFAULTS.get((name, key), getattr(default, key))
        assert prop.get("default") == expected, f"{name}.{key}"


def _violations(prop: dict) -> list[object]:
    bad: list[object] = []
    if "minimum" in prop:
        m = prop["minimum"]
        bad.append(m - 1 if prop.get("type") == "integer" else m - 0.5)
    if "exclusiveMinimum" in prop:
        bad.append(prop["exclusiveMinimum"])
    if "maximum" in prop:
        bad.append(prop["maximum"] + 0.5)
    if "exclusiveMaximum" in prop:
        bad.append(prop["exclusiveMaximum"])
    if "enum" in prop:
        bad.append("no-such-choice")
    return bad


@pytest.mark.parametrize(
    "name, cls", PAIRS, ids=[f"{n}-{c.__name__}" for n, c in PAIRS]
)
def test_schema_bounds_are_the_dataclass_bounds(name, cls):
    checked = 0
    for key, prop in _shared(name, cls).items():
        if (name, key) in SECTION_BOUNDS:
            continue
        for value in _violations(prop):
            with pytest.raises(ValueError):
                dataclasses.replace(cls(), **{key: value})
            checked += 1
        if "minimum" in prop:  # the bound itself is allowed
            dataclasses.replace(cls(), **{key: prop["minimum"]})
    assert checked, f"no bound of $defs.{name} reaches {cls.__name__}"


def test_flat_sections_build_their_dataclass():
    assert settings.flat(HMCConfig, {"step_size": 0.1, "init": "resample"}) == (
        HMCConfig(step_size=0.1, init="resample")
    )
    with pytest.raises(ValueError, match="HMCConfig.init must be one of"):
        settings.flat(HMCConfig, {"init": "mode"})
    with pytest.raises(TypeError, match="chains"):
        settings.flat(RejectionConfig, {"chains": 3})


def test_kinds_choose_the_architecture():
    arch, optim = settings.baseline({"kind": "flow", "n_blocks": 3, "epochs": 7})
    assert arch == FlowConfig(n_blocks=3) and optim.epochs == 7
    arch, optim = settings.baseline(
        {"kind": "gan", "n_blocks": 3, "gan": {"d_updates": 2}}
    )
    assert arch == GANConfig(d_updates=2) and optim == OptimConfig()
    arch, optim, n = settings.refiner(
        {"kind": "flow", "n_train": 10, "latent_dim": 6, "flow": {"n_blocks": 2}}
    )
    assert arch == FlowConfig(n_blocks=2) and n == 10
    arch, optim, n = settings.refiner({"latent_dim": 6, "beta1": 0.5, "beta2": 0.9})
    assert arch == GANConfig(latent_dim=6) and optim.betas == (0.5, 0.9) and n is None
    with pytest.raises(ValueError, match="baseline.kind must be one of"):
        settings.baseline({"kind": "vae"})


def test_omnifold_section():
    config = settings.omnifold(
        {"iterations": 2, "step2": {"hidden_units": 8, "epochs": 3}},
        OmniFoldConfig,
        ClassifierConfig,
    )
    assert config.iterations == 2 and config.step2.hidden_units == 8
    assert config.step2_optim.epochs == 3 and config.step1 == ClassifierConfig()
