"""Rule sample_baseline: draw z ~ N(0, I) and x = g(z) from the baseline."""

from laser import generators, io
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
device = resolve_device(snakemake.config.get("device", "auto"))
model = io.load_model(
    snakemake.input.model, generators.build, resolve_dtype(p.dtype), device
)
z, x = generators.sample(model, p.n, p.seed)
io.save_samples(snakemake.output.samples, z=z, x=x)
