"""Rules sample_laser and sample_laser_iterated: the refined generator,
z = phi_1(...phi_k(y)) and x = g(z)."""

from laser import generators, io, refiners
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
# phi_1 ... phi_k, in the order they were trained
paths = list(snakemake.input.refiners)
p = snakemake.params
dtype, device = (
    resolve_dtype(p.dtype),
    resolve_device(snakemake.config.get("device", "auto")),
)
g = io.load_model(snakemake.input.baseline, generators.build, dtype, device)
chain = [io.load_model(r, refiners.build, dtype, device) for r in paths]
y, z, x = generators.Refined(g, chain).sample(p.n, p.seed)
io.save_samples(snakemake.output.samples, y=y, z=z, x=x)
