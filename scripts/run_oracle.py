"""Rule run_oracle: HMC on the exact weights p_data/p_g of the toy, mapped through g."""

from laser import diagnostics, flows, io, oracle, pullback
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p, dataset = snakemake.params, snakemake.wildcards.dataset
dtype, device = (
    resolve_dtype(p.dtype),
    resolve_device(snakemake.config.get("device", "auto")),
)
flow = io.load_model(snakemake.input.baseline, flows.build, dtype, device)
hmc, init = pullback.hmc_settings(p.hmc)
z, x, result = oracle.sample_oracle(flow, dataset, p.n, hmc, p.seed, init)
table = diagnostics.of_run(z, hmc.n_chains, result, dataset, "oracle")
io.save_table(table, snakemake.output.diagnostics)
io.save_samples(snakemake.output.samples, z=z, x=x)
