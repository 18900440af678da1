"""Rules sample_laser and sample_laser_iterated: the refined generator,
z = phi_1(...phi_k(y)) and x = g(z)."""

from laser import io
from laser.models import generators, refiners
from laser.workflow import job

j = job.start(snakemake)
g = io.load_model(j.input.baseline, generators.build, j.dtype, j.device)
# phi_1 ... phi_k, in the order they were trained
chain = [io.load_model(r, refiners.build, j.dtype, j.device) for r in j.input.refiners]
y, z, x = generators.Refined(g, chain).sample(j.params.n, j.params.seed)
io.save_samples(j.output.samples, y=y, z=z, x=x)
