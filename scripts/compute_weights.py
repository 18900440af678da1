"""Rules compute_weights and compute_weights_iterated: DCTR weights w = f/(1-f)
of the generator's samples, with the latent points the refiner trains on (z of
the baseline, or y of the previous round's refined generator) as z."""

from laser import classifier, io
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
latent = snakemake.params.latent
device = resolve_device(snakemake.config.get("device", "auto"))
s = io.load_samples(snakemake.input.samples, required=(latent, "x"))
clf = io.load_model(
    snakemake.input.classifier,
    classifier.build,
    resolve_dtype(snakemake.params.dtype),
    device,
)
log_w = classifier.logits(clf, s["x"])
w = classifier.weights_from_logits(log_w)
io.save_samples(snakemake.output.samples, z=s[latent], x=s["x"], w=w, log_w=log_w)
