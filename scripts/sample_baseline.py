"""Rule sample_baseline: draw z ~ N(0, I) and x = g(z) from the baseline; or take
the user's samples of a generator without a latent space (x alone)."""

from laser import io
from laser.models import generators
from laser.workflow import job

j = job.start(snakemake)
if "generated" in j.input.keys():
    io.save_samples(j.output.samples, x=io.load_samples(j.input.generated)["x"])
else:
    model = io.load_model(j.input.model, generators.build, j.dtype, j.device)
    z, x = generators.sample(model, j.params.n, j.params.seed)
    io.save_samples(j.output.samples, z=z, x=x)
