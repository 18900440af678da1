"""Per-feature transforms of event data: log, logit and dequantisation, stored with
the networks that use them and inverted on their output."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "KINDS",
    "FeatureSpec",
    "parse",
    "to_hparams",
    "from_hparams",
    "FeatureTransform",
    "domain_errors",
    "dequantise",
    "quantise",
]

#: The transforms: ``none`` (standardisation only, which every network applies),
#: ``log`` (a positive feature), ``logit`` (a feature bounded to ``(low, high)``)
#: and ``dequantise`` (an integer-valued feature, given uniform noise in [0, 1)).
KINDS = ("none", "log", "logit", "dequantise")


@dataclass(frozen=True)
class FeatureSpec:
    """How one feature enters the networks.

    Attributes:
        kind: one of :data:`KINDS`.
        low: the lower bound of a ``logit`` feature.
        high: the upper bound of a ``logit`` feature.
    """

    kind: str = "none"
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown transform {self.kind!r}; known: {list(KINDS)}")
        if self.kind == "logit" and not (
            math.isfinite(self.low)
            and math.isfinite(self.high)
            and self.low < self.high
        ):
            raise ValueError(
                f"logit bounds must be finite with low < high, got "
                f"[{self.low}, {self.high}]"
            )


def parse(config: Mapping[str, Any] | None, names: Sequence[str]) -> list[FeatureSpec]:
    """The specs of features `names` from a config mapping feature -> transform.

    A transform is written ``log``, ``dequantise``, ``none``, or ``{logit: [low,
    high]}``; features the mapping does not name get ``none``.

    Raises:
        ValueError: naming the feature, for a feature that is not in `names` or
            a transform that is not one of :data:`KINDS`.

    Examples:
        >>> [s.kind for s in parse({"b": "log"}, ["a", "b"])]
        ['none', 'log']
        >>> parse({"a": {"logit": [0, 2]}}, ["a"])[0].high
        2.0
    """
    config = dict(config or {})
    unknown = sorted(set(config) - set(names))
    if unknown:
        raise ValueError(
            f"transforms name feature(s) {unknown} that are not among the "
            f"features {list(names)}"
        )
    specs = []
    for name in names:
        value = config.get(name, "none")
        try:
            if isinstance(value, Mapping) and list(value) == ["logit"]:
                low, high = value["logit"]
                specs.append(FeatureSpec("logit", float(low), float(high)))
            elif isinstance(value, str) and value != "logit":
                specs.append(FeatureSpec(value))
            else:
                raise ValueError(
                    f"write one of {[k for k in KINDS if k != 'logit']} or "
                    f"{{logit: [low, high]}}, got {value!r}"
                )
        except (TypeError, ValueError) as e:
            raise ValueError(f"transform of feature '{name}': {e}") from None
    return specs


def to_hparams(specs: Sequence[FeatureSpec]) -> list[list[Any]]:
    """Specs as plain lists ``[kind, low, high]`` (a checkpoint's hparams)."""
    return [[s.kind, s.low, s.high] for s in specs]


def from_hparams(hparams: Sequence[Sequence[Any]] | None) -> list[FeatureSpec] | None:
    """The inverse of :func:`to_hparams`; None stays None."""
    if hparams is None:
        return None
    return [FeatureSpec(str(k), float(lo), float(hi)) for k, lo, hi in hparams]


class FeatureTransform(nn.Module):
    """The map y = T(x) from data units to the networks' space, feature by feature.

    ``log``: y = log x. ``logit``: u = (x - low) / (high - low), y = log u/(1-u).
    ``none`` and ``dequantise``: y = x (a dequantised feature is continuous
    already: its integer data are given noise u ~ U[0, 1) before training,
    :func:`dequantise`, and floor(x) recovers the integer).

    References:
        Dinh, Sohl-Dickstein, Bengio, arXiv:1605.08803, Sec. 4.1 (logit of
        bounded data); Uria, Murray, Larochelle, arXiv:1306.0186 (dequantisation).
    """

    def __init__(self, specs: Sequence[FeatureSpec]):
        super().__init__()
        self.specs = list(specs)
        kinds = [s.kind for s in self.specs]
        self._log = [i for i, k in enumerate(kinds) if k == "log"]
        self._logit = [i for i, k in enumerate(kinds) if k == "logit"]
        self._low = [self.specs[i].low for i in self._logit]
        self._width = [self.specs[i].high - self.specs[i].low for i in self._logit]

    @property
    def identity(self) -> bool:
        """Whether T changes nothing."""
        return not (self._log or self._logit)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """y = T(x) for x (N, D) in data units, and log|det dy/dx| (N,)."""
        log_det = x.new_zeros(len(x))  # (N,)
        if self.identity:
            return x, log_det
        y = x.clone()
        tiny = torch.finfo(x.dtype).tiny
        if self._log:
            xi = x[:, self._log].clamp_min(tiny)  # (N, K); exp() may underflow to 0
            y[:, self._log] = torch.log(xi)
            log_det = log_det - torch.log(xi).sum(1)
        if self._logit:
            low, width = x.new_tensor(self._low), x.new_tensor(self._width)
            eps = torch.finfo(x.dtype).eps  # sigmoid() may round to 0 or 1
            u = ((x[:, self._logit] - low) / width).clamp(eps, 1 - eps)  # (N, K)
            y[:, self._logit] = torch.log(u) - torch.log1p(-u)
            log_det = log_det - (torch.log(u) + torch.log1p(-u) + torch.log(width)).sum(
                1
            )
        return y, log_det

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """x = T^-1(y) for y (N, D): back to data units, inside every domain
        (at least a float32 epsilon of the width away from a logit bound)."""
        if self.identity:
            return y
        x = y.clone()
        # exp() underflows to 0 and sigmoid() rounds to 1 far out: keep x off the
        # bounds by a float32 epsilon, so that even samples stored as float32 stay
        # inside the domain
        eps = torch.finfo(torch.float32).eps
        if self._log:
            x[:, self._log] = torch.exp(y[:, self._log]).clamp_min(
                torch.finfo(torch.float32).tiny
            )
        if self._logit:
            low, width = y.new_tensor(self._low), y.new_tensor(self._width)
            u = torch.sigmoid(y[:, self._logit]).clamp(eps, 1 - eps)  # (N, K)
            x[:, self._logit] = low + width * u
        return x


def domain_errors(
    x: np.ndarray, specs: Sequence[FeatureSpec], names: Sequence[str]
) -> list[str]:
    """What in x (N, D) lies outside its transform's domain, a message per feature:
    a non-positive value of a ``log`` feature, one outside ``(low, high)`` of a
    ``logit`` feature, a non-integer value of a ``dequantise`` feature; each names
    the feature, the first such row and the number of rows."""
    errors = []
    for j, (spec, name) in enumerate(zip(specs, names, strict=True)):
        col = x[:, j]
        if spec.kind == "log":
            bad, what = col <= 0, "log needs values > 0"
        elif spec.kind == "logit":
            bad = (col <= spec.low) | (col >= spec.high)
            what = f"logit needs values strictly inside ({spec.low}, {spec.high})"
        elif spec.kind == "dequantise":
            bad, what = col != np.floor(col), "dequantise needs integer values"
        else:
            continue
        rows = np.flatnonzero(bad)
        if len(rows):
            errors.append(
                f"feature '{name}' ({what}): row {rows[0]} has {col[rows[0]]:g} "
                f"({len(rows)} such rows)"
            )
    return errors


def dequantise(
    x: np.ndarray, specs: Sequence[FeatureSpec], rng: np.random.Generator
) -> np.ndarray:
    """x with uniform noise in [0, 1) added to its ``dequantise`` features, so
    that a flow sees a density; floor() of a feature gives back its integers.

    Examples:
        >>> x = np.array([[3.0, 0.5]])
        >>> y = dequantise(x, [FeatureSpec("dequantise"), FeatureSpec()],
        ...                np.random.default_rng(0))
        >>> bool(np.floor(y[0, 0]) == 3.0), float(y[0, 1])
        (True, 0.5)
    """
    cols = [j for j, s in enumerate(specs) if s.kind == "dequantise"]
    if not cols:
        return x
    out = np.array(x, dtype=np.float64)
    k = out[:, cols]  # (N, K) integers
    # k + u rounds up to k + 1 where u is within an ulp of 1 (in float32, as the
    # samples are stored): stop at the largest float32 below k + 1
    top = np.nextafter((k + 1).astype(np.float32), np.float32(-np.inf))
    out[:, cols] = np.minimum(k + rng.uniform(0.0, 1.0, k.shape), top)
    return out


def quantise(x: np.ndarray, specs: Sequence[FeatureSpec] | None) -> np.ndarray:
    """x with its ``dequantise`` features floored back to integers (data units);
    x itself where there are none.

    Examples:
        >>> quantise(np.array([[3.7, 0.5]]), [FeatureSpec("dequantise"), FeatureSpec()])
        array([[3. , 0.5]])
    """
    cols = [j for j, s in enumerate(specs or []) if s.kind == "dequantise"]
    if not cols:
        return x
    out = np.array(x, copy=True)
    out[:, cols] = np.floor(out[:, cols])
    return out
