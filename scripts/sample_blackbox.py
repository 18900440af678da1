"""Rule sample_blackbox: the black box's samples, z ~ N(0, I) and x = g(z, hidden
randomness), after checking its declared stochasticity."""

from laser import io
from laser.blackbox import base, spec
from laser.workflow import job

j = job.start(snakemake)
p = j.params
box = spec.load(p.spec, p.options, j.input.baseline, j.dtype, j.device)
base.check_stochastic(box, p.stochastic, p.seed + 1)
z, x = base.sample(box, p.n, p.seed)
io.save_samples(j.output.samples, z=z, x=x)
