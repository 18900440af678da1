"""Rule run_langevin: unadjusted Langevin on the pulled-back latent density."""

from laser import classifier, generators, io, samplers
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p, dataset = snakemake.params, snakemake.wildcards.dataset
dtype, device = (
    resolve_dtype(p.dtype),
    resolve_device(snakemake.config.get("device", "auto")),
)
g = io.load_model(snakemake.input.baseline, generators.build, dtype, device)
clf = io.load_model(snakemake.input.classifier, classifier.build, dtype, device)
config = samplers.LangevinConfig(**p.langevin)
z, x, result = samplers.sample_langevin(g, clf, p.n, config, p.seed)
table = samplers.langevin_table(z, result, config.init, dataset)
io.save_table(table, snakemake.output.diagnostics)
io.save_samples(snakemake.output.samples, z=z, x=x)
