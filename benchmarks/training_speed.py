"""Training and sampling throughput: the workflow's code vs the straightforward way.

For each stage the same networks (paper architectures, Sec. 4.1) see the same
inputs in the same run:

- ours: the workflow's functions (`flows.train`, `classifier.train`,
  `gan.train`, `flows.transform`, `gan.sample`) in float32, as `config/fast.yaml`
  runs them: index minibatches of tensors held in memory, sampling in batches
  of 100k rows without autograd.
- reference: the straightforward implementation, as the paper's settings and
  code would run it: float64, a `torch.utils.data.DataLoader` over a
  `TensorDataset` with shuffling for training, and sampling in batches of the
  training batch size (2000), also without autograd.

Training stages are timed over one epoch of `--steps` updates (GAN: iterations of
4 discriminator + 1 generator updates); sampling over `--n-sample` points. Each
is timed `--repeats` times, alternating ours and the reference, after an untimed
warm-up; the fastest call of each counts (robust to other load).
Rows: `stage, metric, ours, reference, ratio` (ratio = ours / reference for
rates, so > 1 means ours is faster).

Usage: python benchmarks/training_speed.py [--steps 60] [--out FILE.tsv]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from common import Row, machine, per_call, print_rows, write_rows
from torch.utils.data import DataLoader, TensorDataset

from laser.data import toys as datasets
from laser.models import classifier, flows, gan
from laser.models.classifier import ClassifierConfig
from laser.models.flows import FlowConfig
from laser.models.gan import GANConfig
from laser.training import OptimConfig

BATCH = 2000


#: Alternating timed rounds of ours and the reference; the fastest of each
#: counts (robust to other load on the machine).
ROUNDS = [3]


def timed(fn) -> float:
    """Wall seconds of one call."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best_rates(ours, reference, steps: int) -> tuple[float, float]:
    """Steps per second of the fastest of ROUNDS alternating calls of each."""
    t_ours, t_ref = [], []
    for _ in range(ROUNDS[0]):
        t_ours.append(timed(ours))
        t_ref.append(timed(reference))
    return steps / min(t_ours), steps / min(t_ref)


def straightforward_fit(model, loss_fn, tensors, optim: OptimConfig) -> None:
    """One epoch with a shuffling DataLoader, Adam, in the tensors' dtype."""
    opt = torch.optim.Adam(
        model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay
    )
    loader = DataLoader(TensorDataset(*tensors), batch_size=BATCH, shuffle=True)
    for batch in loader:
        loss = loss_fn(*batch)
        opt.zero_grad()
        loss.backward()
        opt.step()


def flow_rates(x: np.ndarray, steps: int) -> tuple[float, float]:
    """Updates per second of the baseline flow: ours, reference."""
    optim = OptimConfig(epochs=1, weight_decay=1e-5)

    def ours() -> None:
        flows.train(x, FlowConfig(), optim, 0, dtype=torch.float32)

    def reference() -> None:
        torch.manual_seed(0)
        model = flows.RealNVP(2, FlowConfig()).double()
        xt = torch.as_tensor(x, dtype=torch.float64)
        model.set_standardisation(xt)
        straightforward_fit(model, lambda b: flows.nll(model, b), [xt], optim)

    return best_rates(ours, reference, steps)


def warm(rates, *arrays: np.ndarray) -> None:
    """One short untimed pass of both implementations (allocator, thread pool)."""
    rounds, ROUNDS[0] = ROUNDS[0], 1
    rates(*(a[: 2 * BATCH] for a in arrays), 2)
    ROUNDS[0] = rounds


def classifier_rates(x: np.ndarray, steps: int) -> tuple[float, float]:
    """Updates per second of the classifier (data vs generated): ours, reference."""
    half = len(x) // 2
    data, generated = x[:half], x[half:] * 1.1
    optim = OptimConfig(epochs=1, weight_decay=0.0)

    def ours() -> None:
        classifier.train(data, generated, ClassifierConfig(), optim, 0, torch.float32)

    def reference() -> None:
        torch.manual_seed(0)
        model = classifier.Classifier(2, ClassifierConfig()).double()
        xt = torch.as_tensor(np.concatenate([data, generated]), dtype=torch.float64)
        y = torch.cat([torch.ones(half), torch.zeros(len(x) - half)]).double()

        def loss(xb, yb):
            return F.binary_cross_entropy_with_logits(model(xb), yb)

        straightforward_fit(model, loss, [xt, y], optim)

    return best_rates(ours, reference, steps)


def gan_rates(z: np.ndarray, w: np.ndarray, steps: int) -> tuple[float, float]:
    """Refiner iterations (4 D + 1 G updates) per second: ours, reference."""
    cfg = GANConfig()
    optim = OptimConfig(epochs=1, lr=1e-4, betas=(0.5, 0.9))

    def ours() -> None:
        gan.train(z, w, cfg, optim, 0, torch.float32)

    def reference() -> None:
        torch.manual_seed(0)
        gen = gan.Generator(2, cfg).double()
        disc = flows.mlp(2, 1, cfg.hidden_layers, cfg.hidden_units).double()
        opt_g = torch.optim.Adam(gen.parameters(), lr=1e-4, betas=(0.5, 0.9))
        opt_d = torch.optim.Adam(disc.parameters(), lr=1e-4, betas=(0.5, 0.9))
        data = TensorDataset(torch.as_tensor(z).double(), torch.as_tensor(w).double())
        for real, wb in DataLoader(data, batch_size=BATCH, shuffle=True):
            for _ in range(cfg.d_updates):
                fake = gen(torch.randn(len(real), cfg.latent_dim, dtype=torch.float64))
                d_loss = gan.discriminator_loss(
                    disc(real).squeeze(-1), disc(fake.detach()).squeeze(-1), wb
                )
                opt_d.zero_grad()
                d_loss.backward()
                opt_d.step()
            y = torch.randn(len(real), cfg.latent_dim, dtype=torch.float64)
            g_loss = gan.generator_loss(disc(gen(y)).squeeze(-1))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()

    return best_rates(ours, reference, steps)


def sampling_rates(n: int, repeats: int) -> dict[str, tuple[float, float]]:
    """Points per second of g(z) and g(phi(y)): ours, reference."""
    torch.manual_seed(0)
    flow64 = flows.RealNVP(2, FlowConfig()).double().eval()
    refiner64 = gan.Generator(2, GANConfig()).double().eval()
    flow32 = flows.RealNVP(2, FlowConfig()).float().eval()
    flow32.load_state_dict({k: v.float() for k, v in flow64.state_dict().items()})
    refiner32 = gan.Generator(2, GANConfig()).float().eval()
    refiner32.load_state_dict({k: v.float() for k, v in refiner64.state_dict().items()})
    z = torch.randn(n, 2, dtype=torch.float64)

    @torch.no_grad()
    def reference(refined: bool) -> None:
        for b in torch.split(torch.randn(n, 4, dtype=torch.float64), BATCH):
            flow64.generate(refiner64(b) if refined else b[:, :2])

    t_g = per_call(lambda: flows.transform(flow32, z), repeats)
    t_g_ref = per_call(lambda: reference(False), repeats)

    def ours_refined() -> None:
        flows.transform(flow32, gan.sample(refiner32, n, 0))

    t_r = per_call(ours_refined, repeats)
    t_r_ref = per_call(lambda: reference(True), repeats)
    return {"g": (n / t_g, n / t_g_ref), "g_phi": (n / t_r, n / t_r_ref)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60, help="updates per timed epoch")
    ap.add_argument("--n-sample", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3, help="timed rounds of each")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, help="also write the rows as TSV")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ROUNDS[0] = args.repeats
    print("# " + ", ".join(f"{k}: {v}" for k, v in machine().items()))
    n = args.steps * BATCH
    x = datasets.sample("gaussians", n, 0)
    rng = np.random.default_rng(1)
    z = rng.standard_normal((n, 2)).astype(np.float32)
    w = np.exp(rng.normal(0.0, 0.5, n)).astype(np.float32)

    warm(flow_rates, x)
    warm(classifier_rates, x)
    warm(gan_rates, z, w)
    rows: list[Row] = []
    for stage, metric, (ours, ref) in [
        ("train_baseline", "flow_steps_per_s", flow_rates(x, args.steps)),
        (
            "train_classifier",
            "classifier_steps_per_s",
            classifier_rates(np.concatenate([x, x]), 2 * args.steps),
        ),
        ("train_refiner", "gan_iterations_per_s", gan_rates(z, w, args.steps)),
    ]:
        rows.append((stage, metric, ours, ref, ours / ref))
        print(f"# {stage}: ours {ours:.2f}/s, reference {ref:.2f}/s", flush=True)
    rates = sampling_rates(args.n_sample, args.repeats)
    for stage, key in (("sample_baseline", "g"), ("sample_laser", "g_phi")):
        ours, ref = rates[key]
        rows.append((stage, f"{key}_points_per_s", ours, ref, ours / ref))
    print_rows(rows)
    write_rows(rows, args.out)


if __name__ == "__main__":
    main()
