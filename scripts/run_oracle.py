"""Rule run_oracle: HMC on the exact weights p_data/p_g of the toy, mapped through g."""

from laser import diagnostics, flows, io, mcmc, oracle
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
dtype, device = (
    resolve_dtype(p.dtype),
    resolve_device(snakemake.config.get("device", "auto")),
)
flow = io.load_model(snakemake.input.baseline, flows.build, dtype, device)
settings = dict(p.hmc)
init = settings.pop("init")
hmc = mcmc.HMCConfig(**settings)
dataset = snakemake.wildcards.dataset
z, x, result = oracle.sample_oracle(flow, dataset, p.n, hmc, p.seed, init)
table = diagnostics.hmc_table(
    z,
    hmc.n_chains,
    result.acceptance_rate,
    result.burn_in_acceptance_rate,
    result.step_size,
    dataset,
    method="oracle",
)
diagnostics.report(table)
io.save_table(table, snakemake.output.diagnostics)
io.save_samples(snakemake.output.samples, z=z, x=x)
