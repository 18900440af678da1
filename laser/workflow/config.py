"""Validation of the workflow configuration, with messages that name the key."""

from __future__ import annotations

import copy
import os
from typing import Any

import jsonschema
import yaml

from laser.methods import refinement_round
from laser.seeding import replicas, split

__all__ = [
    "ConfigError",
    "validate",
    "section",
    "methods",
    "baseline_kind",
    "blackbox_pullbacks",
    "blackbox_methods",
    "datasets",
    "entry",
    "is_toy",
    "dataset_methods",
    "LATENT_METHODS",
]

#: The methods that sample the generator's latent space: a dataset given only by
#: samples of a generator (``events.<name>.generated``) has none of them.
LATENT_METHODS = ("hmc", "laser", "rejection", "langevin", "oracle")


class ConfigError(ValueError):
    """An invalid configuration; the message lists every bad key and what is allowed."""


# JSON Schema's `integer` admits 12.0; here an integer key must be written as one, so
# that a float never reaches range() or an array size deep inside a job.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool)
    ),
)


def _key(path: Any) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _describe(err: jsonschema.ValidationError) -> str:
    key = _key(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        where = f"under '{key}'" if err.absolute_path else "at the top level"
        return f"unknown key(s) {extra} {where}; allowed: {allowed}"
    if err.validator == "required":
        return f"'{key}': {err.message}"
    if err.validator == "enum" and "propertyNames" in err.schema_path:
        return f"'{key}': unknown name {err.instance!r}; allowed: {err.validator_value}"
    if err.validator == "enum":
        return f"'{key}' = {err.instance!r}: must be one of {err.validator_value}"
    desc = err.schema.get("description")
    hint = f" ({desc})" if desc else ""
    return f"'{key}' = {err.instance!r}: {err.message}{hint}"


def _semantic(config: dict[str, Any]) -> list[str]:
    """Checks the schema cannot express: toys defined, ordered ranges, distinct dims."""
    errors: list[str] = []
    toys, events = config.get("toys", {}), config.get("events", {})
    errors += [
        f"'datasets' names '{name}', which has no entry under 'toys' (a toy's "
        "range) or 'events' (your own events)"
        for name in config.get("datasets", [])
        if name not in toys and name not in events
    ]
    errors += _event_errors(events)
    errors += _classifier_errors(config)
    ranges = {f"toys.{name}.range": toy.get("range") for name, toy in toys.items()}
    ranges["evaluate.latent_range"] = config.get("evaluate", {}).get("latent_range")
    for key, rng in ranges.items():
        if rng is None:
            continue
        for axis, (lo, hi) in zip("xy", rng, strict=False):
            if not lo < hi:
                errors.append(f"'{key}' = {rng}: {axis} range [{lo}, {hi}] is inverted")
    dims = config.get("evaluate", {}).get("dims", [0, 1])
    if len(set(dims)) != len(dims):
        errors.append(f"'evaluate.dims' = {dims}: the two columns must differ")
    methods = config.get("methods", [])
    iterations = config.get("refine", {}).get("iterations", 1)
    errors += [
        f"'methods' names '{m}', a round of refinement beyond "
        f"'refine.iterations' = {iterations}"
        for m in methods
        if refinement_round(m) > iterations
    ]
    box = config.get("blackbox", {})
    allowed = blackbox_methods(config)
    errors += [
        f"'methods' names '{m}', a black-box method, but "
        + (
            "'blackbox.spec' is null (no black box)"
            if not box.get("spec")
            else f"'blackbox.pullback' = {box.get('pullback', 'auto')} does not "
            f"make it (it makes {allowed})"
        )
        for m in methods
        if m.startswith("blackbox") and m not in allowed
    ]
    if "oracle" in methods:
        errors += [
            f"'methods' has 'oracle' (HMC on the exact weights p_data / p_g), which "
            f"needs the density of a flow baseline, but the baseline of '{name}' is "
            f"a GAN ('{key}' = gan): drop oracle from 'methods'"
            for name in config.get("datasets", [])
            for key, kind in [baseline_kind(config, name)]
            if kind == "gan" and is_toy(config, name)
        ]
    errors += [
        f"'refiner.unweight' = true for '{name}' needs a density of the refiner, "
        f"but its 'refiner.kind' is {kind}: set it to flow, or unweight to false"
        for name in config.get("datasets", [])
        for s in [section(config, "refiner", name)]
        for kind in [s.get("kind", "gan")]
        if s.get("unweight") and kind != "flow"
    ]
    if iterations > 1 and any(
        section(config, "refiner", name).get("unweight")
        for name in config.get("datasets", [])
    ):
        errors.append(
            f"'refiner.unweight' = true with 'refine.iterations' = {iterations}: the "
            "later rounds reweight the refiner's own draws, not the unweighted "
            "sample (their classifier sees the former): set one of them back"
        )
    hmc = config.get("hmc", {})
    if hmc.get("restart") and hmc.get("init", "prior") == "prior":
        errors.append(
            "'hmc.restart' = true returns the chains to their starts after burn-in, "
            "which needs starts drawn from the target: set 'hmc.init' to resample or "
            "systematic (it is prior)"
        )
    return errors


def _event_errors(events: dict[str, Any]) -> list[str]:
    """Checks of `events` entries the schema cannot express."""
    errors = []
    for name, e in events.items():
        key = f"events.{name}"
        sources = [k for k in ("path", "files", "pythia") if k in e]
        if len(sources) != 1:
            errors.append(
                f"'{key}': give exactly one of path, files or pythia, got {sources}"
            )
        features = e.get("features", [])
        unknown = sorted(set(e.get("transforms", {})) - set(features))
        if unknown:
            errors.append(f"'{key}.transforms' names {unknown}, not among its features")
        for low, high in (
            t["logit"] for t in e.get("transforms", {}).values() if isinstance(t, dict)
        ):
            if not low < high:
                errors.append(f"'{key}.transforms': logit bounds [{low}, {high}]")
        for pair in e.get("pairs") or []:
            if len(set(pair)) != 2 or not set(pair) <= set(features):
                errors.append(
                    f"'{key}.pairs' has {pair}: two different features of {features}"
                )
        if e.get("weight") in features:
            errors.append(f"'{key}.weight' = {e['weight']!r} is also a feature")
        if "generator" in e and "generated" in e:
            errors.append(f"'{key}': give generator or generated, not both")
    return errors


def _classifier_errors(config: dict[str, Any]) -> list[str]:
    """`classifier.fresh_generated` and `classifier.log_density` (or a dataset's
    override) where the dataset's generator cannot serve them: no generator to
    draw from (samples only), or no exact density (log_density: a flow only)."""
    errors = []
    for name in config.get("datasets", []):
        e = entry(config, name)
        own = e.get("classifier", {})
        where = f"{'toys' if is_toy(config, name) else 'events'}.{name}.classifier"
        on = {
            k: f"{where}.{k}" if k in own else f"classifier.{k}"
            for k in ("fresh_generated", "log_density")
            if {**config.get("classifier", {}), **own}.get(k)
        }
        if "generated" in e and not is_toy(config, name):
            errors += [
                f"'{key}' = true needs a generator, but '{name}' has only its "
                f"samples ('events.{name}.generated'): set it false"
                for key in on.values()
            ]
            continue
        if "log_density" not in on:
            continue
        bkey, kind = baseline_kind(config, name)
        why = None
        if "generator" in e and not is_toy(config, name):
            why = f"'events.{name}.generator' (your own) has no exact density"
        elif kind != "flow":
            why = f"the baseline of '{name}' is a GAN ('{bkey}' = {kind})"
        elif len(e.get("features", [None, None])) == 1:
            why = f"the 1-D flow of '{name}' only estimates its density"
        if why:
            errors.append(
                f"'{on['log_density']}' = true needs the exact density of a flow "
                f"baseline, but {why}: set it false"
            )
    return errors


def datasets(config: dict[str, Any]) -> list[str]:
    """The datasets the workflow runs: `datasets`, and for ``seeds`` = k > 1 their
    replicas ``name.seed2`` ... ``name.seed<k>`` (:func:`laser.seeding.replica`).

    Examples:
        >>> datasets({"datasets": ["rings"], "seeds": 2})
        ['rings', 'rings.seed2']
    """
    return replicas(list(config.get("datasets", [])), config.get("seeds", 1))


def entry(config: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The dataset's entry: under `toys` for a toy, under `events` for events
    (for a replica of a study over seeds, ``rings.seed2``, that of ``rings``)."""
    dataset = split(dataset)[0]
    if dataset in config.get("toys", {}):
        return config["toys"][dataset]
    return config.get("events", {}).get(dataset, {})


def is_toy(config: dict[str, Any], dataset: str) -> bool:
    """Whether `dataset` (or the dataset of a replica) is one of the paper's toys
    (an entry under `toys`)."""
    dataset = split(dataset)[0]
    return dataset in config.get("toys", {}) and dataset not in config.get("events", {})


def dataset_methods(config: dict[str, Any], dataset: str) -> list[str]:
    """The methods run for `dataset`: :func:`methods` less the oracle for a dataset
    that is not a toy (it needs the exact density), and less every method of the
    latent space (:data:`LATENT_METHODS`, the refinements, the black box) for one
    given only by samples of a generator (``generated``)."""
    out = methods(config)
    if is_toy(config, dataset):
        return out
    out = [m for m in out if m != "oracle"]
    if "generated" in entry(config, dataset):
        out = [m for m in out if m in ("baseline", "dctr")]
    return out


def baseline_kind(config: dict[str, Any], dataset: str) -> tuple[str, str]:
    """(config key, kind) of the dataset's baseline generator: the dataset's
    override where it sets one, else `baseline.kind`."""
    where = "toys" if is_toy(config, dataset) else "events"
    own = entry(config, dataset).get("baseline", {})
    if "kind" in own:
        return f"{where}.{split(dataset)[0]}.baseline.kind", own["kind"]
    return "baseline.kind", config.get("baseline", {}).get("kind", "flow")


def blackbox_pullbacks(config: dict[str, Any]) -> list[str]:
    """The pull-backs (`direct`, `omnifold`) run for the black box: none without
    one; `blackbox.pullback`, with `auto` direct for a deterministic box and
    omnifold for a stochastic one, and `both` both."""
    box = config.get("blackbox", {})
    if not box.get("spec"):
        return []
    choice = box.get("pullback", "auto")
    if choice == "auto":
        return ["omnifold"] if box.get("stochastic", True) else ["direct"]
    return ["direct", "omnifold"] if choice == "both" else [choice]


def blackbox_methods(config: dict[str, Any]) -> list[str]:
    """The black box's methods: its samples, then per pull-back its weighted
    samples and the refined box."""
    pullbacks = blackbox_pullbacks(config)
    out = ["blackbox"] if pullbacks else []
    if "direct" in pullbacks:
        out += ["blackbox_dctr", "blackbox_laser_direct"]
    if "omnifold" in pullbacks:
        out += ["blackbox_omnifold", "blackbox_laser_omnifold"]
    return out


def methods(config: dict[str, Any]) -> list[str]:
    """The methods to score, in order: `methods` with the rounds of refinement
    `laser_2 ... laser_k` (k = `refine.iterations`) that it does not name inserted
    after its last LaSeR method, if it names one, and the black box's methods
    (:func:`blackbox_methods`) that it does not name at the end."""
    listed = list(config["methods"])
    k = config.get("refine", {}).get("iterations", 1)
    rounds = [i for i, m in enumerate(listed) if refinement_round(m)]
    if rounds:
        extra = [f"laser_{i}" for i in range(2, k + 1) if f"laser_{i}" not in listed]
        at = rounds[-1] + 1
        listed = listed[:at] + extra + listed[at:]
    return listed + [m for m in blackbox_methods(config) if m not in listed]


def _fill_defaults(instance: Any, schema: dict[str, Any], root: dict[str, Any]) -> None:
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].split("/")[-1]]
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if "$ref" in sub and "default" not in sub:
            sub = {**root["$defs"][sub["$ref"].split("/")[-1]], **sub}
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and "properties" in extra:  # named entries (events)
        # their own keys only: a section of overrides (a $ref, such as
        # `baseline`) keeps just the keys it sets, the rest come from the section
        own = {k: v for k, v in extra["properties"].items() if "$ref" not in v}
        for key in set(instance) - set(schema.get("properties", {})):
            _fill_defaults(instance[key], {"properties": own}, root)


def validate(config: dict[str, Any], schema_path: str | os.PathLike) -> dict[str, Any]:
    """Check `config` against the YAML schema; fill in the schema's defaults.

    Raises:
        ConfigError: one line per problem, each naming the config key.
    """
    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    validator = _Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    messages = [_describe(e) for e in errors]
    if not messages:
        _fill_defaults(config, schema, schema)
        messages = _semantic(config)
    if messages:
        raise ConfigError(
            "invalid configuration:\n" + "\n".join(f"  - {m}" for m in messages)
        )
    return config


def section(config: dict[str, Any], name: str, dataset: str) -> dict[str, Any]:
    """Settings of section `name` for `dataset`: the global ones, then the
    dataset's overrides (under `toys` or `events`; a subsection such as
    `refiner.flow` key by key), with keys sorted (so that Snakemake sees equal
    params as equal)."""
    merged = dict(config[name])
    for key, value in entry(config, dataset).get(name, {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = {**merged[key], **value}
        merged[key] = value
    return {
        k: dict(sorted(v.items())) if isinstance(v, dict) else v
        for k, v in sorted(merged.items())
    }
