"""Rules compute_weights and compute_weights_iterated: DCTR weights w = f/(1-f)
of the generator's samples, with the latent points the refiner trains on (z of
the baseline, or y of the previous round's refined generator) as z."""

from laser import io
from laser.models import classifier
from laser.workflow import job

j = job.start(snakemake)
s = io.load_samples(j.input.samples, required=(j.params.latent, "x"))
clf = io.load_model(j.input.classifier, classifier.build, j.dtype, j.device)
log_w = classifier.logits(clf, s["x"])
w = classifier.weights_from_logits(log_w)
io.save_samples(j.output.samples, z=s[j.params.latent], x=s["x"], w=w, log_w=log_w)
