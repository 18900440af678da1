"""Rule run_omnifold: the OmniFold pull-back of the black box's weights to z, its
diagnostics per iteration, and the latent weights nu(z) of the box's samples."""

import numpy as np

from laser import blackbox, io, omnifold
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p, dataset = snakemake.params, snakemake.wildcards.dataset
dtype = resolve_dtype(p.dtype)
device = resolve_device(snakemake.config.get("device", "auto"))
data = io.load_samples(snakemake.input.data)["x"]
box = blackbox.load(p.spec, p.options, snakemake.input.baseline, dtype, device)
# fresh pairs (z, x) of the box, as many as the data points
z_gen, x_gen = blackbox.sample(box, len(data), p.seed)
config = omnifold.OmniFoldConfig.from_settings(p.settings)
result = omnifold.pull_back(z_gen, x_gen, data, config, p.seed + 1, dtype, device)
samples = io.load_samples(snakemake.input.samples, required=("z", "x"))
log_w = omnifold.latent_log_weights(result.latent_weight, samples["z"])
table = result.table.assign(dataset=dataset)
io.save_table(table[["dataset", *result.table.columns]], snakemake.output.diagnostics)
nu = result.latent_weight
io.save_model(nu, nu.hparams, snakemake.output.model)
io.save_samples(
    snakemake.output.samples,
    z=samples["z"],
    x=samples["x"],
    w=np.exp(log_w),
    log_w=log_w,
)
