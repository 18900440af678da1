"""Tests of laser.data.transforms: the per-feature maps (log, logit) with their
log-determinants, their inverses onto the domains, the config forms, and
dequantisation."""

import math
import re

import numpy as np
import pytest
import torch

from laser.data.transforms import (
    KINDS,
    FeatureSpec,
    FeatureTransform,
    dequantise,
    domain_errors,
    from_hparams,
    parse,
    quantise,
    to_hparams,
)

LOG = FeatureSpec("log")
NONE = FeatureSpec("none")
DEQ = FeatureSpec("dequantise")


def _logit(low: float = 0.0, high: float = 1.0) -> FeatureSpec:
    return FeatureSpec("logit", low, high)


# specs of the columns, each with a sampler of points inside its domain
SPEC_SETS = {
    "log": [LOG],
    "logit": [_logit()],
    "logit-shifted": [_logit(-3.0, 5.0)],
    "none": [NONE],
    "dequantise": [DEQ],
    "mixed": [LOG, _logit(-1.0, 2.0), NONE, DEQ, _logit(10.0, 10.5), LOG],
}


def _inside(specs, n: int, seed: int = 0) -> torch.Tensor:
    """n float64 points (n, D) inside every spec's domain, spread over it."""
    gen = torch.Generator().manual_seed(seed)
    cols = []
    for s in specs:
        if s.kind == "log":
            cols.append(
                torch.exp(3 * torch.randn(n, generator=gen, dtype=torch.float64))
            )
        elif s.kind == "logit":
            u = torch.rand(n, generator=gen, dtype=torch.float64) * 0.998 + 0.001
            cols.append(s.low + (s.high - s.low) * u)
        else:
            cols.append(5 * torch.randn(n, generator=gen, dtype=torch.float64))
    return torch.stack(cols, 1)


@pytest.mark.parametrize("name", sorted(SPEC_SETS))
def test_inverse_of_forward_is_identity(name):
    specs = SPEC_SETS[name]
    t = FeatureTransform(specs)
    x = _inside(specs, 1000)
    y, log_det = t(x)
    assert y.shape == x.shape and log_det.shape == (1000,)
    assert y.dtype == torch.float64 and log_det.dtype == torch.float64
    torch.testing.assert_close(t.inverse(y), x, rtol=1e-12, atol=1e-12)
    assert t.identity == all(s.kind in ("none", "dequantise") for s in specs)
    if not t.identity:
        assert not torch.allclose(y, x)  # the map does something


def test_forward_of_inverse_is_identity():
    specs = SPEC_SETS["mixed"]
    t = FeatureTransform(specs)
    gen = torch.Generator().manual_seed(2)
    y = 3 * torch.randn(2000, len(specs), dtype=torch.float64, generator=gen)
    y2, _ = t(t.inverse(y))
    # logit(u) for u near 1 amplifies the rounding of x by 1 / (width u (1 - u)):
    # up to ~1e5 ulp at |y| ~ 12 for the narrow (10, 10.5) column
    torch.testing.assert_close(y2, y, rtol=1e-9, atol=1e-9)


def test_forward_values():
    t = FeatureTransform([LOG, _logit(2.0, 6.0), NONE])
    x = torch.tensor([[math.e, 3.0, -7.0]], dtype=torch.float64)
    y, log_det = t(x)
    u = 0.25  # (3 - 2) / 4
    expected = [1.0, math.log(u / (1 - u)), -7.0]
    torch.testing.assert_close(y, torch.tensor([expected], dtype=torch.float64))
    # d log x / dx = 1/x; d logit((x - low)/w) / dx = 1 / (w u (1 - u))
    ld = -1.0 - math.log(4 * u * (1 - u))
    assert log_det.item() == pytest.approx(ld, rel=1e-14)


@pytest.mark.parametrize("name", sorted(SPEC_SETS))
def test_log_det_matches_autograd_jacobian(name):
    specs = SPEC_SETS[name]
    t = FeatureTransform(specs)
    x = _inside(specs, 6, seed=3)
    _, log_det = t(x)
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(
            lambda v: t(v.unsqueeze(0))[0].squeeze(0), x[i]
        )  # (D, D) = dy/dx
        off = jac - torch.diag(torch.diagonal(jac))
        assert torch.all(off == 0)  # elementwise map
        _, logabsdet = torch.linalg.slogdet(jac)
        assert log_det[i].item() == pytest.approx(logabsdet.item(), abs=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_inverse_maps_into_the_domains(dtype):
    specs = [LOG, _logit(), _logit(-2.0, 3.0), NONE]
    t = FeatureTransform(specs)
    # y well beyond where the networks' outputs land; sigmoid stays off 0 and 1
    limit = 30.0 if dtype == torch.float64 else 15.0
    y = torch.linspace(-limit, limit, 2001, dtype=dtype).unsqueeze(1).repeat(1, 4)
    x = t.inverse(y)
    assert x.dtype == dtype and torch.isfinite(x).all()
    assert torch.all(x[:, 0] > 0)
    assert torch.all((x[:, 1] > 0) & (x[:, 1] < 1))
    assert torch.all((x[:, 2] > -2) & (x[:, 2] < 3))
    assert torch.equal(x[:, 3], y[:, 3])
    gen = torch.Generator().manual_seed(1)
    y_rand = 10 * torch.randn(5000, 4, dtype=dtype, generator=gen)
    x_rand = t.inverse(y_rand)
    assert torch.all(x_rand[:, 0] > 0)
    assert torch.all((x_rand[:, 1] >= 0) & (x_rand[:, 1] <= 1))
    assert torch.all((x_rand[:, 2] >= -2) & (x_rand[:, 2] <= 3))
    assert not y.requires_grad


def test_inverse_in_float32_stays_off_the_bounds():
    t = FeatureTransform([LOG, _logit()])
    y = torch.tensor([[-110.0, 20.0], [0.0, -20.0]], dtype=torch.float32)
    x = t.inverse(y)
    assert torch.all(x[:, 0] > 0)
    assert torch.all((x[:, 1] > 0) & (x[:, 1] < 1))


def test_forward_stays_finite_at_the_domain_edges():
    """Values on the edge (from float rounding of inverse) give finite y, log_det."""
    t = FeatureTransform([LOG, _logit()])
    x = torch.tensor([[0.0, 0.0], [1e-320, 1.0], [1.0, 0.5]], dtype=torch.float64)
    y, log_det = t(x)
    assert torch.isfinite(y).all() and torch.isfinite(log_det).all()


def test_forward_keeps_the_input():
    t = FeatureTransform([LOG, _logit()])
    x = _inside([LOG, _logit()], 10)
    before = x.clone()
    t(x)
    t.inverse(x)
    assert torch.equal(x, before)


def test_gradients_flow_through_inverse():
    """The generator is differentiated through T^-1 (HMC)."""
    t = FeatureTransform([LOG, _logit(-1.0, 1.0), NONE])
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(4, 3, dtype=torch.float64, generator=gen).requires_grad_()
    t.inverse(y).sum().backward()
    expected = torch.stack(
        [torch.exp(y[:, 0]), 2 * torch.sigmoid(y[:, 1]) * torch.sigmoid(-y[:, 1])],
        1,
    ).detach()
    torch.testing.assert_close(y.grad[:, :2], expected)
    torch.testing.assert_close(y.grad[:, 2], torch.ones(4, dtype=torch.float64))


# --- specs and the config forms -------------------------------------------------


def test_parse_accepts_the_config_forms():
    names = ["p", "q", "r", "s", "t"]
    config = {"p": "log", "q": "dequantise", "r": "none", "s": {"logit": [-1, 2.5]}}
    specs = parse(config, names)
    assert specs == [
        LOG,
        DEQ,
        NONE,
        FeatureSpec("logit", -1.0, 2.5),
        NONE,  # not named: none
    ]
    assert isinstance(specs[3].low, float) and isinstance(specs[3].high, float)
    assert parse(None, ["a", "b"]) == [NONE, NONE]
    assert parse({}, ["a"]) == [NONE]
    assert parse({"a": {"logit": (0, 1)}}, ["a"]) == [_logit()]


@pytest.mark.parametrize(
    "value,pattern",
    [
        ("sqrt", "unknown transform 'sqrt'"),
        ("logit", "logit: \\[low, high\\]"),  # logit needs its bounds
        ("LOG", "unknown transform 'LOG'"),
        ({"logit": [2.0, 1.0]}, "low < high"),
        ({"logit": [1.0, 1.0]}, "low < high"),
        ({"logit": [0.0, math.inf]}, "finite"),
        ({"logit": [math.nan, 1.0]}, "finite"),
        ({"logit": [0.0]}, ""),
        ({"logit": [0.0, 1.0, 2.0]}, ""),
        ({"logit": ["a", 1.0]}, ""),
        ({"logit": None}, ""),
        ({"logit": [0, 1], "log": None}, ""),
        ({"log": [0, 1]}, ""),
        (3, ""),
        (None, ""),
    ],
)
def test_parse_rejects_bad_transforms_naming_the_feature(value, pattern):
    with pytest.raises(ValueError) as info:
        parse({"pt": value}, ["eta", "pt"])
    message = str(info.value)
    assert message.startswith("transform of feature 'pt': "), message
    assert pattern == "" or re.search(pattern, message), message


def test_parse_rejects_unknown_features():
    with pytest.raises(ValueError, match=r"\['mass', 'zz'\].*\['eta', 'pt'\]"):
        parse({"zz": "log", "pt": "log", "mass": "none"}, ["eta", "pt"])


def test_feature_spec_checks():
    assert FeatureSpec() == NONE
    with pytest.raises(ValueError, match="unknown transform"):
        FeatureSpec("exp")
    with pytest.raises(ValueError, match="low < high"):
        FeatureSpec("logit", 1.0, 0.0)
    for kind in KINDS:
        if kind != "logit":
            FeatureSpec(kind, 5.0, -5.0)  # bounds unused outside logit


def test_hparams_round_trip():
    specs = SPEC_SETS["mixed"]
    hp = to_hparams(specs)
    assert all(isinstance(h, list) and len(h) == 3 for h in hp)
    assert hp[1] == ["logit", -1.0, 2.0]
    assert from_hparams(hp) == specs
    assert from_hparams(None) is None
    assert from_hparams([("logit", "0", 1)]) == [_logit()]  # as read from YAML/JSON


# --- domain checks --------------------------------------------------------------


def test_domain_errors():
    names = ["e", "y", "n", "k"]
    specs = [LOG, _logit(0.0, 2.0), NONE, DEQ]
    x = np.array(
        [
            [1.0, 1.0, -9.0, 3.0],
            [0.0, 2.0, 1e9, 4.0],
            [-1.0, 0.5, 0.0, 4.5],
            [2.0, -0.1, 1.0, -2.0],
            [3.0, 1.9, 1.0, 1.5],
        ]
    )
    errors = domain_errors(x, specs, names)
    assert len(errors) == 3
    assert errors[0].startswith("feature 'e' (log needs values > 0): row 1 has 0 ")
    assert "(2 such rows)" in errors[0]
    assert errors[1].startswith("feature 'y' (logit needs values strictly inside")
    assert "row 1 has 2 (2 such rows)" in errors[1]
    assert "feature 'k' (dequantise needs integer values): row 2 has 4.5" in errors[2]
    assert "(2 such rows)" in errors[2]
    assert domain_errors(np.abs(x[:1]), specs, names) == []
    with pytest.raises(ValueError):
        domain_errors(x, specs[:3], names)


# --- dequantisation -------------------------------------------------------------


def test_dequantise_adds_noise_in_0_1_only_to_its_columns():
    rng = np.random.default_rng(0)
    specs = [NONE, DEQ, LOG, DEQ]
    x = np.stack(
        [
            rng.normal(size=5000),
            rng.integers(-5, 6, 5000).astype(np.float64),
            rng.lognormal(size=5000),
            rng.integers(0, 1000, 5000).astype(np.float64),
        ],
        1,
    )
    out = dequantise(x, specs, np.random.default_rng(1))
    assert out.dtype == np.float64 and out is not x
    np.testing.assert_array_equal(out[:, [0, 2]], x[:, [0, 2]])
    noise = out[:, [1, 3]] - x[:, [1, 3]]
    assert np.all((noise >= 0) & (noise < 1))
    # uniform: mean 1/2, variance 1/12 (5 standard errors)
    assert abs(noise.mean() - 0.5) < 5 * math.sqrt(1 / 12 / noise.size)
    assert abs(noise.var() - 1 / 12) < 0.005
    np.testing.assert_array_equal(quantise(out, specs), x)
    again = dequantise(x, specs, np.random.default_rng(1))
    np.testing.assert_array_equal(again, out)
    assert not np.array_equal(dequantise(x, specs, np.random.default_rng(2)), out)


@pytest.mark.parametrize("seed", range(5))
def test_quantise_of_dequantise_is_the_integers(seed):
    rng = np.random.default_rng(seed)
    k = rng.integers(-10_000, 10_000, (3000, 2)).astype(np.float64)
    specs = [DEQ, DEQ]
    np.testing.assert_array_equal(quantise(dequantise(k, specs, rng), specs), k)
    k32 = k.astype(np.float32)  # float32 input is dequantised in float64
    out = dequantise(k32, specs, rng)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(quantise(out, specs), k)


def test_quantise_of_dequantise_at_the_largest_noise():
    """The largest uniform draw, 1 - 2^-53 (numpy's uniform(0, 1) reaches it):
    floor(k + u) must still be k."""

    class Largest:
        def uniform(self, low, high, size):
            return np.full(size, np.nextafter(1.0, 0.0))

    k = np.array([[0.0], [1.0], [3.0], [-3.0], [1000.0]])
    out = quantise(dequantise(k, [DEQ], Largest()), [DEQ])
    np.testing.assert_array_equal(out, k)


def test_dequantise_and_quantise_without_dequantise_columns():
    x = np.array([[1.5, 2.5]])
    assert dequantise(x, [NONE, LOG], np.random.default_rng(0)) is x
    assert quantise(x, [NONE, LOG]) is x
    assert quantise(x, None) is x
    y = quantise(np.array([[1.5, -0.5]]), [DEQ, DEQ])
    np.testing.assert_array_equal(y, [[1.0, -1.0]])


def test_transforms_are_plain_modules():
    """No parameters or buffers: a model's state_dict is unchanged by transforms."""
    t = FeatureTransform(SPEC_SETS["mixed"])
    assert list(t.parameters()) == [] and dict(t.state_dict()) == {}
