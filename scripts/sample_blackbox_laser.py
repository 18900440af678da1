"""Rule sample_blackbox_laser: the refined black box, z = phi(y) and x = g(z,
hidden randomness)."""

from laser import blackbox, io, refiners
from laser.logs import log_to
from laser.seeding import derive_seed
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
dtype = resolve_dtype(p.dtype)
device = resolve_device(snakemake.config.get("device", "auto"))
box = blackbox.load(p.spec, p.options, snakemake.input.baseline, dtype, device)
refiner = io.load_model(snakemake.input.refiner, refiners.build, dtype, device)
z = refiners.sample(refiner, p.n, p.seed)
x = blackbox.generate(box, z, derive_seed(p.seed, "hidden"))
io.save_samples(snakemake.output.samples, z=z, x=x)
