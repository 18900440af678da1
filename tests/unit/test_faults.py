"""Training faults: a NaN or infinite loss stops training, naming stage, epoch, step."""

import numpy as np
import pytest
import torch

from laser.io import save_model
from laser.models import gan
from laser.training import OptimConfig, fit

pytestmark = pytest.mark.usefixtures("one_thread")


def test_nan_loss_names_stage_epoch_and_step():
    model = torch.nn.Linear(2, 1)
    x = torch.randn(40, 2)
    calls = []

    def loss(xb: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        value = model(xb).pow(2).mean()
        return value * float("nan") if len(calls) == 7 else value

    cfg = OptimConfig(epochs=3, batch_size=10)  # 4 steps per epoch: call 7 = epoch 2
    with pytest.raises(
        FloatingPointError, match=r"flow: loss is nan at epoch 2, step 3"
    ):
        fit(model, loss, [x], cfg, torch.Generator().manual_seed(0), "flow")


def test_inf_loss_is_caught_too():
    model = torch.nn.Linear(1, 1)

    def loss(xb: torch.Tensor) -> torch.Tensor:
        return model(xb).sum() * float("inf")

    with pytest.raises(FloatingPointError, match="classifier: loss is .*inf"):
        fit(
            model,
            loss,
            [torch.ones(4, 1)],
            OptimConfig(epochs=1, batch_size=4),
            torch.Generator().manual_seed(0),
            "classifier",
        )


def test_refiner_with_infinite_weight_stops_before_writing(tmp_path):
    z = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    w = np.ones(200)
    w[5] = np.inf  # a saturated weight that escaped the logit bound
    out = tmp_path / "refiner.pt"
    cfg = gan.GANConfig(hidden_layers=1, hidden_units=8)
    with pytest.raises(FloatingPointError, match="refiner discriminator: .* epoch 1"):
        model = gan.train(z, w, cfg, OptimConfig(epochs=1, batch_size=200), seed=0)
        save_model(model, model.hparams, out)
    assert not out.exists() and list(tmp_path.iterdir()) == []
