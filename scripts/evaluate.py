"""Rule evaluate: every method's scores beside the noise floor, and Betti numbers."""

from laser import io
from laser.evaluation.scores import score_methods
from laser.workflow import job

j = job.start(snakemake)
p, samples, latent = j.params, {}, {}
for m in p.methods:
    s = io.load_samples(j.input[m])
    samples[m], latent[m] = (s["x"], s.get("w")), s.get("z")
truth, test = (io.load_samples(f)["x"] for f in (j.input.truth, j.input.truth_test))
hist = {"latent": latent, "latent_range": p.latent_range, "chains": p.chains}
hist |= {"depth": p.depth}
df = score_methods(j.dataset, truth, test, samples, p.bins, p.range, p.dims, **hist)
io.save_table(df, j.output.metrics)
