"""Rules compute_weights and compute_weights_iterated: DCTR weights w = f/(1-f)
of the generator's samples, with the latent points the refiner trains on (z of
the baseline, or y of the previous round's refined generator) as z."""

from laser import io
from laser.models import classifier
from laser.workflow import job

j = job.start(snakemake)
s = io.load_samples(j.input.samples)
clf = io.load_model(j.input.classifier, classifier.build, j.dtype, j.device)
log_w = classifier.logits(clf, s["x"])
w = classifier.weights_from_logits(log_w)
# the user's samples of a generator without a latent space have none
latent = {"z": s[j.params.latent]} if j.params.latent in s else {}
io.save_samples(j.output.samples, **latent, x=s["x"], w=w, log_w=log_w)
