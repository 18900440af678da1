"""Rule sample_blackbox: the black box's samples, z ~ N(0, I) and x = g(z, hidden
randomness), after checking its declared stochasticity."""

from laser import blackbox, io
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
dtype = resolve_dtype(p.dtype)
device = resolve_device(snakemake.config.get("device", "auto"))
box = blackbox.load(p.spec, p.options, snakemake.input.baseline, dtype, device)
blackbox.check_stochastic(box, p.stochastic, p.seed + 1)
z, x = blackbox.sample(box, p.n, p.seed)
io.save_samples(snakemake.output.samples, z=z, x=x)
