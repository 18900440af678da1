"""Tests of laser.workflow.config: schema validation, defaults, per-dataset
overrides."""

import copy
import re
from pathlib import Path

import pytest
import yaml

from laser.methods import refinement_round
from laser.models.classifier import ClassifierConfig
from laser.models.flows import FlowConfig
from laser.models.gan import GANConfig
from laser.training import OptimConfig
from laser.workflow.config import (
    ConfigError,
    baseline_kind,
    blackbox_methods,
    blackbox_pullbacks,
    methods,
    section,
    validate,
)
from laser.workflow.settings import split

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def _load(path: Path) -> dict:
    with open(path) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def paper() -> dict:
    return _load(ROOT / "config.yaml")


@pytest.fixture
def cfg(paper) -> dict:
    return copy.deepcopy(paper)


def test_paper_config_is_valid_and_complete(paper):
    config = copy.deepcopy(paper)
    out = validate(config, SCHEMA)
    assert out is config
    assert out == paper  # every key is given: validation adds and changes nothing


def test_tiny_config_is_valid_and_gets_defaults():
    config = _load(ROOT / "tests" / "configs" / "tiny.yaml")
    original = copy.deepcopy(config)
    out = validate(config, SCHEMA)
    # tiny.yaml leaves out these keys, which get the schema's defaults
    assert out["baseline"].pop("clamp") == 2.0
    assert out["classifier"].pop("weight_decay") == 0.0
    assert out["classifier"].pop("fresh_generated") is False
    assert out["classifier"].pop("log_density") is False
    assert out["classifier"].pop("ema") == 0.0
    assert out["classifier"].pop("with_train") is False
    for step in ("step1", "step2"):
        assert out["omnifold"][step].pop("ema") == 0.0
    assert out.pop("progress") == {"minutes": 10, "steps": 0}
    assert out.pop("seeds") == 1
    assert out["hmc"].pop("thin") == 1
    assert out["hmc"].pop("restart") is False
    assert out["hmc"].pop("jump_every") == 0
    assert out["refiner"].pop("reverse_kl") == 0.0
    assert out["refiner"].pop("log_variance") == 0.0
    assert out["refiner"].pop("ema") == 0.0
    assert out["refiner"].pop("unweight") is False
    assert out.pop("events") == {}
    assert out["evaluate"].pop("events")["twosample"]["n_max"] == 200_000
    assert out["evaluate"].pop("betti") == {"autocorrelation": True, "depth": 1.0}
    assert out == original


def test_defaults_are_filled(cfg):
    del cfg["device"]
    del cfg["baseline"]["clamp"]
    del cfg["refiner"]["beta2"]
    cfg["evaluate"] = {}
    cfg["hmc"] = {"step_size": 0.01}
    out = validate(cfg, SCHEMA)
    assert out["device"] == "auto"
    assert out["baseline"]["clamp"] == 2.0
    assert out["refiner"]["beta2"] == 0.9
    assert out["evaluate"].pop("events")["bins"] == 50
    assert out["evaluate"].pop("betti") == {"autocorrelation": True, "depth": 1.0}
    assert out["evaluate"] == {
        "bins": 100,
        "dims": [0, 1],
        "latent_range": [[-3.0, 3.0], [-3.0, 3.0]],
        "calibration_bins": 20,
    }
    assert out["hmc"] == {
        "step_size": 0.01,
        "n_leapfrog": 50,
        "n_chains": 100,
        "burn_in": 3000,
        "chunk_size": 10000,
        "adapt_step_size": False,
        "target_accept": 0.8,
        "thin": 1,
        "restart": False,
        "init": "prior",
        "jump_every": 0,
    }
    # per-toy overrides stay partial: they are overrides, not full sections
    assert out["toys"]["rings"]["baseline"] == {"n_blocks": 20, "hidden_units": 60}
    assert "baseline" not in out["toys"]["gaussians"]


def _set(*keys_value):
    *keys, value = keys_value

    def mutate(c):
        for k in keys[:-1]:
            c = c[k]
        c[keys[-1]] = value

    return mutate


def _delete(*keys):
    def mutate(c):
        for k in keys[:-1]:
            c = c[k]
        del c[keys[-1]]

    return mutate


# (id, mutation, text the error must contain: the key, and what is wrong)
BAD = [
    ("unknown_top", _set("epochs", 3), "unknown key(s) ['epochs'] at the top level"),
    (
        "unknown_nested",
        _set("baseline", "n_layers", 3),
        "['n_layers'] under 'baseline'",
    ),
    (
        "unknown_override",
        _set("toys", "rings", "baseline", "steps", 3),
        "['steps'] under 'toys.rings.baseline'",
    ),
    (
        "unknown_dataset_section",
        _set("toys", "rings", "plots", {}),
        "'toys.rings'",
    ),
    ("wrong_type", _set("baseline", "lr", "fast"), "'baseline.lr' = 'fast'"),
    ("wrong_type_int", _set("hmc", "n_leapfrog", "50"), "'hmc.n_leapfrog' = '50'"),
    ("bool_seed", _set("seed", True), "'seed' = True"),
    ("negative_seed", _set("seed", -1), "'seed' = -1"),
    ("zero_units", _set("refiner", "hidden_units", 0), "'refiner.hidden_units' = 0"),
    ("negative_n_train", _set("data", "n_train", -5), "'data.n_train' = -5"),
    ("zero_n_eval", _set("data", "n_eval", 0), "'data.n_eval' = 0"),
    ("zero_epochs", _set("classifier", "epochs", 0), "'classifier.epochs' = 0"),
    ("zero_batch", _set("baseline", "batch_size", 0), "'baseline.batch_size' = 0"),
    ("bins_one", _set("evaluate", "bins", 1), "'evaluate.bins' = 1"),
    (
        "unknown_dataset",
        _set("toys", "moons", {"range": [[0, 1], [0, 1]]}),
        "'toys': unknown name 'moons'",
    ),
    ("no_toys", _set("toys", {}), "names 'gaussians', which has no entry"),
    ("no_datasets", _set("datasets", []), "'datasets' = []"),
    (
        "unknown_dataset_in_list",
        _set("datasets", ["gaussians", "moons"]),
        "'datasets' names 'moons', which has no entry under 'toys'",
    ),
    (
        "repeated_dataset",
        _set("datasets", ["rings", "rings"]),
        "'datasets' = ['rings', 'rings']",
    ),
    (
        "dataset_without_toy",
        _delete("toys", "rings"),
        "'datasets' names 'rings', which has no entry under 'toys'",
    ),
    (
        "unknown_method",
        _set("methods", ["baseline", "flowgan"]),
        "'methods.1' = 'flowgan'",
    ),
    ("no_methods", _set("methods", []), "'methods' = []"),
    ("repeated_method", _set("methods", ["hmc", "hmc"]), "'methods' = ['hmc', 'hmc']"),
    (
        "zero_calibration_bins",
        _set("evaluate", "calibration_bins", 0),
        "'evaluate.calibration_bins' = 0",
    ),
    ("zero_step", _set("hmc", "step_size", 0), "'hmc.step_size' = 0"),
    ("negative_step", _set("hmc", "step_size", -0.01), "'hmc.step_size' = -0.01"),
    (
        "negative_step_override",
        _set("toys", "rings", "hmc", {"step_size": -1.0}),
        "'toys.rings.hmc.step_size' = -1.0",
    ),
    ("negative_burn_in", _set("hmc", "burn_in", -1), "'hmc.burn_in' = -1"),
    ("zero_chunk", _set("hmc", "chunk_size", 0), "'hmc.chunk_size' = 0"),
    ("zero_threads", _set("threads", 0), "'threads' = 0"),
    ("negative_progress", _set("progress", {"minutes": -1}), "progress.minutes"),
    ("float_progress_steps", _set("progress", {"steps": 1.5}), "progress.steps"),
    ("adapt_not_bool", _set("hmc", "adapt_step_size", 1), "'hmc.adapt_step_size' = 1"),
    ("target_accept_1", _set("hmc", "target_accept", 1.0), "'hmc.target_accept' = 1.0"),
    (
        "inverted_range",
        _set("toys", "gaussians", "range", [[8.2, -8.2], [-8.2, 8.2]]),
        "'toys.gaussians.range' = [[8.2, -8.2], [-8.2, 8.2]]: x range",
    ),
    (
        "inverted_y_range",
        _set("toys", "rings", "range", [[-20.2, 20.2], [1.0, 1.0]]),
        "'toys.rings.range' = [[-20.2, 20.2], [1.0, 1.0]]: y range",
    ),
    (
        "short_range",
        _set("toys", "rings", "range", [[-1.0, 1.0]]),
        "'toys.rings.range'",
    ),
    (
        "missing_range",
        _delete("toys", "gaussians", "range"),
        "'toys.gaussians': 'range' is a required",
    ),
    ("missing_section", _delete("hmc"), "'hmc' is a required property"),
    (
        "missing_data_key",
        _delete("data", "n_eval"),
        "'data': 'n_eval' is a required property",
    ),
    (
        "lr_decay_above_one",
        _set("baseline", "lr_decay", 1.5),
        "'baseline.lr_decay' = 1.5",
    ),
    ("lr_decay_zero", _set("refiner", "lr_decay", 0.0), "'refiner.lr_decay' = 0.0"),
    ("lr_zero", _set("classifier", "lr", 0.0), "'classifier.lr' = 0.0"),
    ("beta1_one", _set("refiner", "beta1", 1.0), "'refiner.beta1' = 1.0"),
    (
        "negative_weight_decay",
        _set("baseline", "weight_decay", -1e-5),
        "'baseline.weight_decay'",
    ),
    ("zero_clamp", _set("baseline", "clamp", 0), "'baseline.clamp' = 0"),
    (
        "dtype",
        _set("dtype", "float16"),
        "'dtype' = 'float16': must be one of ['float32', 'float64']",
    ),
    ("device", _set("device", "tpu"), "'device' = 'tpu'"),
    (
        "latent_range",
        _set("evaluate", "latent_range", [[-3.0, 3.0], [3.0, -3.0]]),
        "'evaluate.latent_range' = [[-3.0, 3.0], [3.0, -3.0]]: y range",
    ),
    (
        "equal_dims",
        _set("evaluate", "dims", [1, 1]),
        "'evaluate.dims' = [1, 1]: the two columns must differ",
    ),
    ("negative_dim", _set("evaluate", "dims", [0, -1]), "'evaluate.dims.1' = -1"),
    ("three_dims", _set("evaluate", "dims", [0, 1, 2]), "'evaluate.dims'"),
    (
        "baseline_kind",
        _set("baseline", "kind", "vae"),
        "'baseline.kind' = 'vae': must be one of ['flow', 'gan']",
    ),
    (
        "gan_latent_dim_one",
        _set("baseline", "gan", {"latent_dim": 1}),
        "'baseline.gan.latent_dim' = 1",
    ),
    (
        "flow_refiner_has_no_kind",
        _set("refiner", "flow", {"kind": "gan"}),
        "unknown key(s) ['kind'] under 'refiner.flow'",
    ),
    ("iterations_zero", _set("refine", {"iterations": 0}), "'refine.iterations' = 0"),
    (
        "method_round_one",
        _set("methods", ["laser", "laser_1"]),
        "'methods.1' = 'laser_1'",
    ),
    (
        "method_round_beyond_iterations",
        _set("methods", ["laser", "laser_3"]),
        "'methods' names 'laser_3', a round of refinement beyond "
        "'refine.iterations' = 1",
    ),
    (
        "blackbox_method_without_a_box",
        _set("methods", ["baseline", "blackbox_omnifold"]),
        "'methods' names 'blackbox_omnifold', a black-box method, but "
        "'blackbox.spec' is null",
    ),
    (
        "blackbox_spec_without_colon",
        _set("blackbox", {"spec": "laser.blackbox.SmearedGenerator"}),
        "'blackbox.spec' = 'laser.blackbox.SmearedGenerator'",
    ),
    (
        "blackbox_pullback",
        _set("blackbox", {"spec": "a:b", "pullback": "exact"}),
        "'blackbox.pullback' = 'exact': must be one of",
    ),
    (
        "omnifold_step_key",
        _set("omnifold", {"step1": {"layers": 3}}),
        "unknown key(s) ['layers'] under 'omnifold.step1'",
    ),
    (
        "oracle_with_gan_baseline",
        _set("baseline", "kind", "gan"),
        "the baseline of 'gaussians' is a GAN ('baseline.kind' = gan): drop oracle",
    ),
    (
        "oracle_with_a_toys_gan_baseline",
        _set("toys", "rings", "baseline", {"kind": "gan"}),
        "the baseline of 'rings' is a GAN ('toys.rings.baseline.kind' = gan)",
    ),
]


@pytest.mark.parametrize(
    "mutate, expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_config_names_the_key(cfg, mutate, expected):
    mutate(cfg)
    with pytest.raises(ConfigError, match=re.escape(expected)) as err:
        validate(cfg, SCHEMA)
    assert str(err.value).startswith("invalid configuration:")
    assert isinstance(err.value, ValueError)


def test_every_problem_is_listed(cfg):
    cfg["hmc"]["step_size"] = 0
    cfg["baseline"]["epochs"] = 0
    cfg["foo"] = 1
    with pytest.raises(ConfigError) as err:
        validate(cfg, SCHEMA)
    lines = str(err.value).splitlines()[1:]
    assert len(lines) == 3 and all(line.startswith("  - ") for line in lines)
    text = str(err.value)
    for key in ("'hmc.step_size'", "'baseline.epochs'", "['foo']"):
        assert key in text


@pytest.mark.parametrize("key", ["n_blocks", "epochs", "batch_size"])
def test_integral_float_is_rejected_naming_the_key(cfg, key):
    # JSON Schema's 'integer' admits 12.0; a float must never reach range() in a job
    cfg["baseline"][key] = 12.0
    with pytest.raises(ConfigError, match=f"'baseline.{key}' = 12.0"):
        validate(cfg, SCHEMA)
    cfg["baseline"][key] = 12
    validate(cfg, SCHEMA)


def test_section_applies_toy_overrides(cfg):
    validate(cfg, SCHEMA)
    before = copy.deepcopy(cfg)
    rings = section(cfg, "baseline", "rings")
    assert rings == {**cfg["baseline"], "n_blocks": 20, "hidden_units": 60}
    assert list(rings) == sorted(rings)  # a canonical order for Snakemake params
    assert cfg["baseline"]["n_blocks"] == 12
    assert section(cfg, "baseline", "gaussians") == cfg["baseline"]
    assert section(cfg, "hmc", "rings") == cfg["hmc"]
    assert cfg == before  # section does not modify the config


def test_section_override_of_other_sections(cfg):
    cfg["toys"]["gaussians"]["hmc"] = {"step_size": 0.1}
    validate(cfg, SCHEMA)
    assert section(cfg, "hmc", "gaussians") == {**cfg["hmc"], "step_size": 0.1}
    assert section(cfg, "hmc", "rings")["step_size"] == 0.004


def test_split_gives_the_dataclasses(cfg):
    validate(cfg, SCHEMA)
    arch, optim = split(section(cfg, "baseline", "rings"), FlowConfig)
    assert arch == FlowConfig(n_blocks=20, hidden_layers=3, hidden_units=60, clamp=2.0)
    assert optim == OptimConfig(
        epochs=100, batch_size=2000, lr=1e-3, weight_decay=1e-5, lr_decay=0.999
    )
    assert optim.betas == (0.9, 0.999)
    arch, optim = split(section(cfg, "classifier", "gaussians"), ClassifierConfig)
    assert arch == ClassifierConfig(hidden_layers=8, hidden_units=96)
    assert optim == OptimConfig(epochs=50, batch_size=2000, lr=1e-3, weight_decay=0.0)
    arch, optim = split(section(cfg, "refiner", "double_donut"), GANConfig)
    assert arch == GANConfig(
        latent_dim=4, hidden_layers=7, hidden_units=100, d_updates=4
    )
    assert optim == OptimConfig(
        epochs=200, batch_size=2000, lr=1e-4, betas=(0.5, 0.9), lr_decay=0.999
    )


def test_tiny_config_splits_for_every_dataset():
    config = validate(_load(ROOT / "tests" / "configs" / "tiny.yaml"), SCHEMA)
    blocks = {}
    for name in config["datasets"]:
        arch, optim = split(section(config, "baseline", name), FlowConfig)
        blocks[name] = arch.n_blocks
        assert optim.epochs == 3 and optim.lr == 3e-3
        split(section(config, "classifier", name), ClassifierConfig)
        split(section(config, "refiner", name), GANConfig)
    assert blocks == {"gaussians": 2, "double_donut": 2, "rings": 3}


def _merged(path: Path) -> dict:
    """config.yaml with the file merged over it, as Snakemake's --configfile does."""

    def merge(base: dict, over: dict) -> dict:
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value
        return base

    return merge(_load(ROOT / "config.yaml"), _load(path))


@pytest.mark.parametrize("name", ["fast.yaml", "memory.yaml"])
def test_shipped_configs_are_valid_over_the_papers(name):
    config = _merged(ROOT / "config" / name)
    validate(config, SCHEMA)
    data = config["data"]
    # they keep the paper's sample sizes and histograms
    assert (data["n_train"], data["n_classifier"], data["n_eval"]) == (
        480_000,
        480_000,
        2_000_000,
    )
    assert config["evaluate"]["bins"] == 100


def test_fast_config_departures_are_the_documented_ones():
    fast = _load(ROOT / "config" / "fast.yaml")
    page = (ROOT / "docs" / "configuration.md").read_text()
    section = page.split("## The fast configuration", 1)[1].split("\n## ", 1)[0]
    for key, value in fast.items():
        keys = value.keys() if isinstance(value, dict) else [None]
        for sub in keys:
            name = key if sub is None else f"{key}.{sub}"
            assert f"`{name}`" in section, (
                f"{name} is not listed in docs/configuration.md"
            )


def test_gan_baseline_without_oracle_is_valid(cfg):
    cfg["baseline"]["kind"] = "gan"
    cfg["methods"] = ["baseline", "hmc", "laser", "dctr"]
    validate(cfg, SCHEMA)
    s = section(cfg, "baseline", "rings")
    assert s["kind"] == "gan" and s["n_blocks"] == 20  # the toy's flow keys stay
    arch, optim = split(s["gan"], GANConfig)
    assert arch == GANConfig(latent_dim=2, hidden_layers=7, hidden_units=100)
    assert optim.betas == (0.5, 0.9) and optim.epochs == 200
    assert baseline_kind(cfg, "rings") == ("baseline.kind", "gan")
    cfg["toys"]["rings"]["baseline"]["kind"] = "flow"
    assert baseline_kind(cfg, "rings") == ("toys.rings.baseline.kind", "flow")


def test_rounds_of_refinement_are_added_after_laser(cfg):
    validate(cfg, SCHEMA)
    assert cfg["refine"] == {"iterations": 1}
    assert methods(cfg) == ["baseline", "hmc", "laser", "dctr", "oracle"]
    cfg["refine"]["iterations"] = 3
    assert methods(cfg) == [
        "baseline",
        "hmc",
        "laser",
        "laser_2",
        "laser_3",
        "dctr",
        "oracle",
    ]
    # a round the config names stays where it is; the others follow it
    cfg["methods"] = ["laser_2", "baseline", "laser"]
    validate(cfg, SCHEMA)
    assert methods(cfg) == ["laser_2", "baseline", "laser", "laser_3"]
    # no LaSeR method: no rounds added
    cfg["methods"] = ["baseline", "hmc"]
    assert methods(cfg) == ["baseline", "hmc"]


@pytest.mark.parametrize(
    "method, k",
    [("laser", 1), ("laser_2", 2), ("laser_12", 12), ("hmc", 0), ("laser_x", 0)],
)
def test_refinement_round(method, k):
    assert refinement_round(method) == k


@pytest.mark.parametrize(
    "pullback, stochastic, expected",
    [
        ("auto", True, ["omnifold"]),
        ("auto", False, ["direct"]),
        ("direct", True, ["direct"]),
        ("both", True, ["direct", "omnifold"]),
    ],
)
def test_blackbox_pullbacks_and_methods(cfg, pullback, stochastic, expected):
    validate(cfg, SCHEMA)
    assert blackbox_pullbacks(cfg) == [] and blackbox_methods(cfg) == []
    assert cfg["omnifold"]["iterations"] == 3
    assert cfg["omnifold"]["step2"]["hidden_units"] == 96
    cfg["blackbox"].update(
        spec="laser.blackbox:SmearedGenerator",
        pullback=pullback,
        stochastic=stochastic,
    )
    validate(cfg, SCHEMA)
    assert blackbox_pullbacks(cfg) == expected
    names = {"direct": ["blackbox_dctr", "blackbox_laser_direct"]}
    names["omnifold"] = ["blackbox_omnifold", "blackbox_laser_omnifold"]
    box = ["blackbox", *(m for p in expected for m in names[p])]
    assert blackbox_methods(cfg) == box
    assert methods(cfg) == [*cfg["methods"], *box]


def test_an_events_entry_gets_its_own_defaults_not_the_sections(cfg):
    """An entry under events gets the defaults of its own keys (format, key,
    weight, transforms, pairs); a section of overrides keeps only what it sets,
    so that the global section fills the rest."""
    cfg["datasets"] = ["mine"]
    cfg["events"] = {
        "mine": {"path": "e.csv", "features": ["a", "b"], "baseline": {"epochs": 3}}
    }
    out = validate(cfg, SCHEMA)["events"]["mine"]
    assert out["format"] == "auto" and out["weight"] is None and out["pairs"] is None
    assert out["baseline"] == {"epochs": 3}
    assert validate(copy.deepcopy(cfg), SCHEMA)["toys"]["rings"]["baseline"] == {
        "n_blocks": 20,
        "hidden_units": 60,
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"features": ["a"]}, "exactly one of path, files or pythia"),
        ({"path": "e.csv", "features": ["a"], "transforms": {"b": "log"}}, "not among"),
        ({"path": "e.csv", "features": ["a"], "weight": "a"}, "also a feature"),
        ({"path": "e.csv", "features": ["a", "b"], "pairs": [["a", "c"]]}, "pairs"),
        (
            {
                "path": "e.csv",
                "features": ["a"],
                "transforms": {"a": {"logit": [1, 0]}},
            },
            "logit bounds",
        ),
        ({"path": "e.csv", "features": ["a"], "transforms": {"a": "sqrt"}}, "sqrt"),
    ],
)
def test_bad_events_entries_are_named(cfg, entry, message):
    cfg["datasets"] = ["mine"]
    cfg["events"] = {"mine": entry}
    with pytest.raises(ConfigError, match="events") as e:
        validate(cfg, SCHEMA)
    assert message in str(e.value)


def test_a_dataset_without_an_entry_is_named(cfg):
    cfg["datasets"] = ["nowhere"]
    with pytest.raises(ConfigError, match="'nowhere'.*'toys'.*'events'"):
        validate(cfg, SCHEMA)
