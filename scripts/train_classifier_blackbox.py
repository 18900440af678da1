"""Rule train_classifier_blackbox: the classifier data vs fresh samples of the black
box, whose weights w(x) the direct pull-back attaches to the latent points."""

import logging

from laser import io
from laser.blackbox import base, spec
from laser.models import classifier
from laser.workflow import job, settings

j = job.start(snakemake)
p = j.params
# the classifier's data, and with classifier.with_train the baseline's training points
data = io.load_joined(*(j.input[k] for k in ("data", "train") if k in j.input.keys()))
data = data["x"]
box = spec.load(p.spec, p.options, j.input.baseline, j.dtype, j.device)
_, generated = base.sample(box, len(data), p.seed)
arch, optim = settings.split(p.settings, classifier.ClassifierConfig)
# the flow-aware options are the baseline classifier's: the box has no density,
# and its one sample stays fixed (its draws may be costly)
for key in ("fresh_generated", "log_density"):
    if p.settings.get(key):
        logging.getLogger("train_classifier_blackbox").info(
            "classifier.%s does not apply to the black box's classifier: off", key
        )
model = classifier.train(data, generated, arch, optim, p.seed + 1, **j.compute)
io.save_model(model, model.hparams, j.output.model)
