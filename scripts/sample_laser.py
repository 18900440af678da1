"""Rule sample_laser: the LaSeR generator, z = phi(y) and x = g(z)."""

from laser import flows, io, refiners
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
dtype, device = (
    resolve_dtype(p.dtype),
    resolve_device(snakemake.config.get("device", "auto")),
)
refiner = io.load_model(snakemake.input.refiner, refiners.build, dtype, device)
flow = io.load_model(snakemake.input.baseline, flows.build, dtype, device)
z = refiners.sample(refiner, p.n, p.seed)
io.save_samples(snakemake.output.samples, z=z, x=flows.transform(flow, z))
