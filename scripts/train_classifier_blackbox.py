"""Rule train_classifier_blackbox: the classifier data vs fresh samples of the black
box, whose weights w(x) the direct pull-back attaches to the latent points."""

from laser import blackbox, classifier, io
from laser.config import split
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
dtype = resolve_dtype(p.dtype)
device = resolve_device(snakemake.config.get("device", "auto"))
arch, optim = split(p.settings, classifier.ClassifierConfig)
data = io.load_samples(snakemake.input.data)["x"]
box = blackbox.load(p.spec, p.options, snakemake.input.baseline, dtype, device)
_, generated = blackbox.sample(box, len(data), p.seed)
model = classifier.train(data, generated, arch, optim, p.seed + 1, dtype, device)
io.save_model(model, model.hparams, snakemake.output.model)
