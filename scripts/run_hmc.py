"""Rule run_hmc: HMC on the pulled-back latent density, mapped through g."""

from laser import classifier, diagnostics, generators, io, pullback
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
hmc, init = pullback.hmc_settings(p.hmc)
z, x, result = pullback.sample_hmc(g, clf, p.n, hmc, p.seed, init=init)
table = diagnostics.of_run(z, hmc.n_chains, result, dataset, "hmc")
io.save_table(table, snakemake.output.diagnostics)
io.save_samples(snakemake.output.samples, z=z, x=x)
