"""Rule train_baseline: fit the RealNVP baseline g to the training data."""

from laser import flows, io
from laser.config import split
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
arch, optim = split(p.settings, flows.FlowConfig)
x = io.load_samples(snakemake.input.train)["x"]
device = resolve_device(snakemake.config.get("device", "auto"))
model = flows.train(x, arch, optim, p.seed, dtype=resolve_dtype(p.dtype), device=device)
io.save_model(model, model.hparams, snakemake.output.model)
