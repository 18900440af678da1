"""The latent samplers, the refiners and OmniFold in D dimensions (D = 1, 3, 8).

Every test starts from a tiny flow g (with feature transforms, latent dimension
L = max(D, 2)) and a tiny classifier trained against it, as
tests/unit/models/test_models_in_d.py does, and checks that rejection sampling,
unadjusted Langevin, the GAN and flow refiners and the OmniFold pull-back run
and return finite output of the right shapes, with one property each. Networks
are tiny and trained for 1-2 epochs; statistical checks are seeded and loose
(their margins are stated where they are set)."""

import copy
from functools import cache

import numpy as np
import pytest
import torch

from laser.blackbox import base
from laser.blackbox.boxes import SmearedGenerator
from laser.blackbox.omnifold import (
    OmniFoldConfig,
    latent_log_weights,
    pull_back,
)
from laser.data.transforms import FeatureSpec
from laser.latent.langevin import LangevinConfig, sample_langevin
from laser.latent.rejection import RejectionConfig, sample_rejection
from laser.latent.target import Target
from laser.models import classifier, flows, gan, generators, refiners
from laser.models.classifier import Classifier, ClassifierConfig
from laser.models.flows import FlowConfig, RealNVP
from laser.models.generators import Refined
from laser.training import OptimConfig
from laser.workflow import settings

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = FlowConfig(n_blocks=2, hidden_layers=1, hidden_units=8)
QUICK = OptimConfig(epochs=2, batch_size=100, lr=1e-3)
TINY_CLS = ClassifierConfig(hidden_layers=1, hidden_units=8)
DIMS = [1, 3, 8]
LOGIT = FeatureSpec("logit", 0.0, 1.0)


def _specs(dim: int) -> list[FeatureSpec]:
    """[log, logit(0, 1), none, ...] cut to `dim` features."""
    return [FeatureSpec("log"), LOGIT, *[FeatureSpec()] * (dim - 2)][:dim]


def _data(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """n points (n, D) in the domains of _specs(D): lognormal, uniform in (0.05,
    0.95), then correlated normals."""
    rng = np.random.default_rng(seed)
    cols = [rng.lognormal(0.0, 0.7, n), rng.uniform(0.05, 0.95, n)]
    normal = rng.normal(size=(n, max(dim - 2, 0)))
    cols += list((normal + 0.5 * normal[:, :1]).T)
    return np.stack(cols[:dim], 1)


@cache
def _trained(dim: int) -> tuple[RealNVP, Classifier]:
    """A tiny flow g of 300 points and a tiny classifier of data against g,
    trained once per dimension (about 0.3 s each)."""
    specs = _specs(dim)
    x_data = _data(300, dim, seed=1)
    g = flows.train(x_data, TINY, QUICK, seed=1, transforms=specs)
    _, x_gen = generators.sample(g, 300, seed=2)
    clf = classifier.train(x_data, x_gen, TINY_CLS, QUICK, seed=3, transforms=specs)
    return g, clf


def _constant(clf: Classifier) -> Classifier:
    """A copy of the classifier whose logit is 0 everywhere (w = 1)."""
    flat = copy.deepcopy(clf)
    with torch.no_grad():
        flat.net[-1].weight.zero_()
        flat.net[-1].bias.zero_()
    return flat


def _latent_points(dim: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Latent points z (n, L) of g and their weights w(g(z)) > 0 (n,)."""
    g, clf = _trained(dim)
    z, x = generators.sample(g, n, seed=5)
    return z, classifier.weights_from_logits(classifier.logits(clf, x))


def _check_latent_sample(out, n: int, dim: int, g: RealNVP) -> None:
    """z (n, L) and x = g(z) (n, D), finite float32, x[:, 0] > 0 (log feature)."""
    latent = max(dim, 2)
    assert g.latent_dim == latent
    assert out.z.shape == (n, latent) and out.x.shape == (n, dim)
    assert out.z.dtype == np.float32 and out.x.dtype == np.float32
    assert np.isfinite(out.z).all() and np.isfinite(out.x).all()
    assert np.all(out.x[:, 0] > 0)
    # x = g(z) to float32 rounding: rejection keeps the images g computed of its
    # proposals, in batches of their own (a row may differ in the last bit)
    np.testing.assert_allclose(flows.transform(g, out.z), out.x, rtol=1e-6, atol=1e-6)


# --- rejection ------------------------------------------------------------------

REJECTION = RejectionConfig(pilot=2000, chunk_size=1000)


@pytest.mark.parametrize("dim", DIMS)
def test_rejection_shapes(dim):
    g, clf = _trained(dim)
    out = sample_rejection(REJECTION, Target(g, clf), 500, seed=6)
    _check_latent_sample(out, 500, dim, g)
    res = out.result
    assert 0 < res.acceptance_rate <= 1 and np.isfinite(res.bound)
    assert res.accepted >= 500 and res.non_finite == 0
    again = sample_rejection(REJECTION, Target(g, clf), 500, seed=6)
    np.testing.assert_array_equal(again.z, out.z)


@pytest.mark.parametrize("dim", DIMS)
def test_rejection_with_a_constant_weight_accepts_all_prior_draws(dim):
    """w = 1: the pilot sets M = 1, every proposal is accepted (u < 1), and the
    3000 accepted z are N(0, I_L): mean within 0.1 (> 5 standard errors,
    0.018) and variance within 0.15 (> 5 standard errors, 0.026) per
    coordinate."""
    g, clf = _trained(dim)
    out = sample_rejection(REJECTION, Target(g, _constant(clf)), 3000, seed=7)
    _check_latent_sample(out, 3000, dim, g)
    res = out.result
    assert res.bound == pytest.approx(1.0)
    assert res.acceptance_rate == pytest.approx(1.0, abs=1e-12)
    assert res.clipped_fraction == 0
    z = out.z.astype(np.float64)
    assert np.all(np.abs(z.mean(0)) < 0.1), z.mean(0)
    assert np.all(np.abs(z.var(0) - 1) < 0.15), z.var(0)


# --- unadjusted Langevin ----------------------------------------------------------

LANGEVIN = LangevinConfig(
    step_size=0.1, n_chains=200, n_steps=20, thin=5, log_every=1000, init="prior"
)


# short runs: ArviZ warns of more chains than draws in the diagnostics table
FEW_DRAWS = pytest.mark.filterwarnings("ignore:More chains:UserWarning")


@FEW_DRAWS
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("init", ["prior", "resample"])
def test_langevin_shapes(dim, init):
    g, clf = _trained(dim)
    config = LangevinConfig(
        step_size=0.05, n_chains=20, n_steps=5, thin=2, log_every=1000, init=init
    )
    out = sample_langevin(config, Target(g, clf), 100, seed=8)
    _check_latent_sample(out, 100, dim, g)
    assert out.result.steps == 5 + 5 * 2  # 100 samples of 20 chains, thin 2
    again = sample_langevin(config, Target(g, clf), 100, seed=8)
    np.testing.assert_array_equal(again.z, out.z)


@FEW_DRAWS
@pytest.mark.parametrize("dim", DIMS)
def test_langevin_with_a_constant_weight_samples_the_prior(dim):
    """w = 1: q = N(0, I_L), which ULA with eps = 0.1 follows with variance
    1 / (1 - eps / 4) = 1.026. The chains start at prior draws (stationary
    already); 200 chains x 10 kept positions (thin 5, correlated within a chain:
    lag-5 autocorrelation (1 - eps / 2)^5 = 0.77, so about 260 effective
    draws per coordinate). Loose margins: mean within 0.25, variance in
    [0.75, 1.35] (over seeds 0-9: |mean| <= 0.15, variance in [0.90, 1.17])."""
    g, clf = _trained(dim)
    out = sample_langevin(LANGEVIN, Target(g, _constant(clf)), 2000, seed=9)
    _check_latent_sample(out, 2000, dim, g)
    z = out.z.astype(np.float64)
    assert np.all(np.abs(z.mean(0)) < 0.25), z.mean(0)
    assert np.all((z.var(0) > 0.75) & (z.var(0) < 1.35)), z.var(0)
    # the chains move: the first and last kept positions (45 steps apart,
    # autocorrelation 0.95^45 = 0.1) differ by about 2 / sqrt(pi) = 1.1
    assert np.abs(z[:200] - z[-200:]).mean() > 0.5


# --- refiners ---------------------------------------------------------------------

GAN_SECTION = {
    "kind": "gan",
    "latent_dim": None,
    "hidden_layers": 1,
    "hidden_units": 8,
    "d_updates": 1,
    "residual": True,
    "epochs": 2,
    "batch_size": 100,
    "lr": 1e-3,
}


@pytest.mark.parametrize("dim", DIMS)
def test_gan_refiner_latent_dim_null_and_residual_start(dim):
    """latent_dim: null is L + 2; a residual refiner of that latent dimension
    is the identity on y's first L coordinates before training."""
    latent = max(dim, 2)
    arch, opt, n_train = settings.refiner(GAN_SECTION, latent_dim=latent)
    assert isinstance(arch, gan.GANConfig) and arch.residual
    assert arch.latent_dim == latent + 2
    assert opt.epochs == 2 and n_train is None
    torch.manual_seed(0)
    phi = gan.Generator(latent, arch)
    assert phi.dim == latent and phi.latent_dim == latent + 2
    y = torch.randn(50, latent + 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(phi.generate(y), y[:, :latent], rtol=0, atol=0)


@pytest.mark.parametrize("dim", DIMS)
def test_gan_refiner_trains_on_weighted_latent_points(dim):
    g, _ = _trained(dim)
    latent = g.latent_dim
    z, w = _latent_points(dim)
    assert z.shape == (400, latent) and np.all(w > 0) and np.isfinite(w).all()
    arch, opt, n_train = settings.refiner(GAN_SECTION, latent_dim=latent)
    phi = refiners.train(z, w, arch, opt, seed=10, n_train=n_train)
    assert isinstance(phi, gan.Generator) and refiners.kind_of(phi) == "gan"
    zr = refiners.sample(phi, 300, seed=11)
    assert zr.shape == (300, latent) and np.isfinite(zr).all()
    y, zs, xs = Refined(g, [phi]).sample(300, seed=11)
    assert y.shape == (300, latent + 2)
    assert zs.shape == (300, latent) and xs.shape == (300, dim)
    assert np.isfinite(zs).all() and np.isfinite(xs).all()
    np.testing.assert_allclose(zs, zr, rtol=1e-6, atol=1e-6)  # the same y
    np.testing.assert_array_equal(flows.transform(g, zs), xs)
    assert np.all(xs[:, 0] > 0)


@pytest.mark.parametrize("dim", DIMS)
def test_flow_refiner_trains_on_weighted_latent_points(dim):
    g, _ = _trained(dim)
    latent = g.latent_dim
    z, w = _latent_points(dim)
    section = {
        "kind": "flow",
        "flow": {
            "n_blocks": 2,
            "hidden_layers": 1,
            "hidden_units": 8,
            "epochs": 2,
            "batch_size": 100,
        },
    }
    arch, opt, n_train = settings.refiner(section, latent_dim=latent)
    assert isinstance(arch, FlowConfig) and n_train is None
    phi = refiners.train(z, w, arch, opt, seed=12)
    assert isinstance(phi, RealNVP) and refiners.kind_of(phi) == "flow"
    assert phi.dim == latent and phi.latent_dim == latent
    refined = Refined(g, [phi])
    assert refined.latent_dim == latent
    assert generators.kind_of(refined) == "flow"
    y, zs, xs = refined.sample(300, seed=13)
    assert y.shape == (300, latent) and zs.shape == (300, latent)
    assert xs.shape == (300, dim)
    assert np.isfinite(zs).all() and np.isfinite(xs).all()
    np.testing.assert_array_equal(flows.transform(g, zs), xs)
    assert np.all(xs[:, 0] > 0)


# --- OmniFold ---------------------------------------------------------------------


@pytest.mark.parametrize("dim", DIMS)
def test_omnifold_on_a_smeared_generator(dim):
    """A stochastic black box (g, then smearing of width 0 or 0.3; L = max(D, 2)
    latent columns, D data columns): one iteration of one epoch per step gives
    finite positive latent weights (n,), of mean 1, equal to the latent weight
    function at the generated z."""
    g, _ = _trained(dim)
    box = SmearedGenerator(g, widths=(0.0, 0.3))
    assert box.latent_dim == max(dim, 2)
    z, x = base.sample(box, 400, seed=14)
    assert z.shape == (400, max(dim, 2)) and x.shape == (400, dim)
    x_data = _data(300, dim, seed=15)
    one = OptimConfig(epochs=1, batch_size=100, lr=1e-3)
    config = OmniFoldConfig(
        iterations=1, step1=TINY_CLS, step1_optim=one, step2=TINY_CLS, step2_optim=one
    )
    result = pull_back(z, x, x_data, config, seed=16)
    w = result.weights
    assert w.shape == (400,) and np.isfinite(w).all() and np.all(w > 0)
    assert result.log_omega.shape == (400,) and np.isfinite(result.log_omega).all()
    assert w.mean() == pytest.approx(1.0, rel=1e-5)
    assert list(result.table["iteration"]) == [1]
    np.testing.assert_allclose(
        latent_log_weights(result.latent_weight, z), result.log_nu, atol=1e-9
    )
