"""Rule train_baseline: fit the baseline generator g (RealNVP by maximum
likelihood, or a GAN) to the training data."""

from laser import generators, io
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
x = io.load_samples(snakemake.input.train)["x"]
device = resolve_device(snakemake.config.get("device", "auto"))
model = generators.train(x, p.settings, p.seed, resolve_dtype(p.dtype), device)
io.save_model(model, model.hparams, snakemake.output.model)
