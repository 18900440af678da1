"""Rule evaluate: every method's scores beside the noise floor, and Betti numbers."""

from laser import io
from laser.evaluation import score_methods
from laser.logs import log_to

log_to(snakemake.log[0])
p, inp = snakemake.params, snakemake.input
samples, latent = {}, {}
for m in p.methods:
    s = io.load_samples(inp[m])
    samples[m], latent[m] = (s["x"], s.get("w")), s.get("z")
truth, test = io.load_samples(inp.truth)["x"], io.load_samples(inp.truth_test)["x"]
df = score_methods(
    snakemake.wildcards.dataset,
    truth,
    test,
    samples,
    p.bins,
    p.range,
    p.dims,
    latent=latent,
    latent_range=p.latent_range,
)
io.save_table(df, snakemake.output.metrics)
