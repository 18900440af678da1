"""Rule run_oracle: HMC on the exact weights p_data/p_g of the toy, mapped through g."""

from laser import io
from laser.latent import hmc, oracle
from laser.models import flows
from laser.workflow import job, settings

j = job.start(snakemake)
flow = io.load_model(j.input.baseline, flows.build, j.dtype, j.device)
config = settings.flat(hmc.HMCConfig, j.params.hmc)
q = oracle.exact_target(flow, j.dataset)
p = j.params
s = oracle.sample_oracle(config, q, p.n, p.seed, dataset=j.dataset, progress=j.progress)
io.save_table(s.table, j.output.diagnostics)
io.save_samples(j.output.samples, z=s.z, x=s.x)
