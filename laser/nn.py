"""The multilayer perceptron that the flows' subnets, the classifier and the GAN
are built of."""

from __future__ import annotations

from torch import nn

__all__ = ["mlp"]


def mlp(n_in: int, n_out: int, hidden_layers: int, hidden_units: int) -> nn.Sequential:
    """A fully connected net with LeakyReLU activations and a linear output.

    Examples:
        >>> net = mlp(3, 1, hidden_layers=2, hidden_units=8)
        >>> len(net), net[-1].out_features
        (5, 1)
    """
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_units), nn.LeakyReLU()]
        width = hidden_units
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)
