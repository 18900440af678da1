"""Rule sample_blackbox_laser: the refined black box, z = phi(y) and x = g(z,
hidden randomness)."""

from laser import io
from laser.blackbox import base, spec
from laser.models import refiners
from laser.seeding import derive_seed
from laser.workflow import job

j = job.start(snakemake)
p = j.params
box = spec.load(p.spec, p.options, j.input.baseline, j.dtype, j.device)
refiner = io.load_model(j.input.refiner, refiners.build, j.dtype, j.device)
z = refiners.sample(refiner, p.n, p.seed)
x = base.generate(box, z, derive_seed(p.seed, "hidden"))
io.save_samples(j.output.samples, z=z, x=x)
