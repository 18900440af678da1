"""Tests of laser.models.classifier (DCTR weights) and laser.latent.target (latent
weights)."""

import numpy as np
import pytest
import torch

from laser.latent import target
from laser.models import classifier, flows
from laser.models.classifier import LOGIT_BOUND, Classifier, ClassifierConfig
from laser.training import OptimConfig

TINY = ClassifierConfig(hidden_layers=2, hidden_units=16)
OPT = OptimConfig(epochs=6, batch_size=200, lr=3e-3)


pytestmark = pytest.mark.usefixtures("one_thread")


def _log_ratio_2d(x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """log N(x; 0, I) / N(x; mu, I) = -x.mu + |mu|^2 / 2."""
    return -x @ mu + 0.5 * mu @ mu


def test_recovers_log_density_ratio_balanced():
    """Data N(0, 1) against generated N(1, 1): log p/q = 1/2 - x, linear.

    On the bulk [-1.5, 2.5] (where both densities have support) a well-trained
    classifier gets within ~0.05 of the truth; 0.15 mean absolute error and a
    correlation of 0.95 leave room for seeds, yet fail for a constant or a
    sign-flipped logit.
    """
    rng = np.random.default_rng(0)
    x_data = rng.normal(0.0, 1.0, (4000, 1))
    x_gen = rng.normal(1.0, 1.0, (4000, 1))
    model = classifier.train(x_data, x_gen, TINY, OPT, seed=1)
    grid = np.linspace(-1.5, 2.5, 201)[:, None]
    pred = classifier.logits(model, grid.astype(np.float32))
    true = 0.5 - grid[:, 0]
    assert pred.dtype == np.float64 and pred.shape == (201,)
    assert np.abs(pred - true).mean() < 0.15
    assert np.corrcoef(pred, true)[0, 1] > 0.95
    # weights are the density ratio: the weighted generated sample has mean ~0
    w = classifier.weights_from_logits(classifier.logits(model, x_gen))
    assert abs(np.average(x_gen[:, 0], weights=w)) < 0.15  # unweighted mean is 1


def test_unbalanced_classes_still_give_density_ratio():
    """2000 data vs 6000 generated: without the prior correction log(6000/2000)
    the logit would be offset by -1.10; the corrected one is unbiased (< 0.3)."""
    rng = np.random.default_rng(1)
    mu = np.array([1.0, 0.5])
    x_data = rng.normal(0.0, 1.0, (2000, 2))
    x_gen = rng.normal(mu, 1.0, (6000, 2))
    model = classifier.train(x_data, x_gen, TINY, OPT, seed=2)
    x = rng.normal(0.5 * mu, 1.0, (2000, 2))  # the bulk between both
    pred = classifier.logits(model, x)
    true = _log_ratio_2d(x, mu)
    assert abs((pred - true).mean()) < 0.3
    assert np.abs(pred - true).mean() < 0.25
    assert np.corrcoef(pred, true)[0, 1] > 0.95


def test_train_sets_standardisation_and_is_deterministic():
    rng = np.random.default_rng(2)
    x_data = rng.normal([5.0, -3.0], [2.0, 0.1], (300, 2))
    x_gen = rng.normal([4.0, -3.0], [1.0, 0.2], (200, 2))
    opt = OptimConfig(epochs=1, batch_size=100)
    a = classifier.train(x_data, x_gen, TINY, opt, seed=4)
    b = classifier.train(x_data, x_gen, TINY, opt, seed=4)
    c = classifier.train(x_data, x_gen, TINY, opt, seed=5)
    both = np.concatenate([x_data, x_gen])
    np.testing.assert_allclose(a.shift.numpy(), both.mean(0), rtol=1e-5)
    np.testing.assert_allclose(a.scale.numpy(), both.std(0, ddof=1), rtol=1e-5)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    assert not torch.equal(a.net[0].weight, c.net[0].weight)


def test_mismatched_columns_raise():
    with pytest.raises(ValueError, match="columns"):
        classifier.train(np.zeros((10, 2)), np.zeros((10, 3)), TINY, OPT, seed=0)


def test_weights_from_logits_is_clamped_exp():
    logit = np.linspace(-20.0, 20.0, 41)
    np.testing.assert_allclose(
        classifier.weights_from_logits(logit), np.exp(logit), rtol=1e-15
    )
    extreme = classifier.weights_from_logits(np.array([-1e4, -31.0, 31.0, 1e4]))
    assert np.all(np.isfinite(extreme)) and np.all(extreme > 0)
    np.testing.assert_allclose(
        extreme, np.exp([-LOGIT_BOUND, -LOGIT_BOUND, LOGIT_BOUND, LOGIT_BOUND])
    )


def _classifier(dim: int = 2, seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    model = Classifier(dim, TINY).double()
    with torch.no_grad():
        model.shift.copy_(torch.linspace(-1.0, 1.0, dim, dtype=torch.float64))
        model.scale.copy_(torch.linspace(0.5, 2.0, dim, dtype=torch.float64))
    return model


def test_log_weight_is_clamped_and_differentiable_inside():
    model = _classifier()
    x = torch.randn(
        20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    inside = model.log_weight(x)
    torch.testing.assert_close(inside, model(x), rtol=0, atol=0)
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model.log_weight(xg).sum(), xg)
    assert g.abs().sum() > 0
    for bias, bound in ((1e4, LOGIT_BOUND), (-1e4, -LOGIT_BOUND)):
        with torch.no_grad():
            model.net[-1].bias.fill_(bias)
            assert torch.all(model(x).abs() > 1e3)
            assert torch.all(model.log_weight(x) == bound)
        np.testing.assert_array_equal(classifier.logits(model, x.numpy()), bound)


def test_build_hparams_round_trip():
    model = _classifier(3)
    assert model.hparams == {
        "kind": "classifier",
        "dim": 3,
        "hidden_layers": 2,
        "hidden_units": 16,
    }
    clone = classifier.build(model.hparams).double()
    clone.load_state_dict(model.state_dict())
    x = torch.randn(
        50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    with torch.no_grad():
        assert torch.equal(clone(x), model(x))
    with pytest.raises(ValueError, match="not a classifier"):
        classifier.build({**model.hparams, "kind": "realnvp"})


def test_logits_batches_agree():
    model = _classifier()
    x = np.random.default_rng(3).normal(size=(103, 2))
    full = classifier.logits(model, x)
    np.testing.assert_allclose(
        classifier.logits(model, x, batch_size=10), full, rtol=1e-12
    )
    with torch.no_grad():
        np.testing.assert_allclose(full, model(torch.as_tensor(x)).numpy(), rtol=1e-12)


def test_config_rejects_zero_sizes():
    for key in ("hidden_layers", "hidden_units"):
        with pytest.raises(ValueError, match=key):
            ClassifierConfig(**{key: 0})


# ------------------------------------------------------------------- pull-back


def _flow(seed: int = 0) -> flows.RealNVP:
    torch.manual_seed(seed)
    flow = flows.RealNVP(
        2, flows.FlowConfig(n_blocks=2, hidden_layers=1, hidden_units=8), seed
    ).double()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in flow.parameters():
            if p.requires_grad:
                p.add_(0.5 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        flow.shift.copy_(torch.tensor([1.0, -2.0]))
        flow.scale.copy_(torch.tensor([2.0, 0.5]))
    return flow


def test_latent_log_prob_is_prior_times_pulled_back_weight():
    flow, clf = _flow(), _classifier()
    z = torch.randn(
        30, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2)
    )
    with torch.no_grad():
        expected = -0.5 * (z**2).sum(1) + clf.log_weight(flow.generate(z))
        log_w = clf.log_weight(flow.generate(z))
    assert log_w.std() > 0.01  # the weight term matters
    log_prob = target.latent_log_prob(flow, clf)
    torch.testing.assert_close(log_prob(z), expected, rtol=0, atol=1e-12)
    # gradients flow to z only, and agree with finite differences
    assert not any(p.requires_grad for p in flow.parameters())
    assert not any(p.requires_grad for p in clf.parameters())
    zg = z[:5].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(log_prob(zg).sum(), zg)
    assert torch.isfinite(grad).all()
    assert torch.autograd.gradcheck(log_prob, (zg,), eps=1e-6, atol=1e-5)


def test_latent_weights_returns_images_and_their_logits():
    flow, clf = _flow(1), _classifier(seed=1)
    z = np.random.default_rng(4).normal(size=(57, 2))
    x, log_w = target.latent_weights(flow, clf, z, batch_size=10)
    assert x.dtype == np.float32 and x.shape == (57, 2)
    assert log_w.dtype == np.float64 and log_w.shape == (57,)
    with torch.no_grad():
        ref = flow.generate(torch.as_tensor(z)).numpy()
    np.testing.assert_allclose(x, ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(log_w, classifier.logits(clf, x), rtol=1e-12)
    assert not np.allclose(x, z, atol=0.1)
