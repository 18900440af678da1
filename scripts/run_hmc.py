"""Rule run_hmc: HMC on the pulled-back latent density, mapped through g."""

from laser import classifier, diagnostics, flows, io, mcmc, pullback
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
dtype, device = (
    resolve_dtype(p.dtype),
    resolve_device(snakemake.config.get("device", "auto")),
)
flow = io.load_model(snakemake.input.baseline, flows.build, dtype, device)
clf = io.load_model(snakemake.input.classifier, classifier.build, dtype, device)
settings = dict(p.hmc)
init = settings.pop("init")
hmc = mcmc.HMCConfig(**settings)
z, x, result = pullback.sample_hmc(flow, clf, p.n, hmc, p.seed, init=init)
table = diagnostics.hmc_table(
    z,
    hmc.n_chains,
    result.acceptance_rate,
    result.burn_in_acceptance_rate,
    result.step_size,
    snakemake.wildcards.dataset,
)
diagnostics.report(table)
io.save_table(table, snakemake.output.diagnostics)
io.save_samples(snakemake.output.samples, z=z, x=x)
