"""Rules train_classifier and train_classifier_iterated: train the classifier
data vs fresh samples of the generator (the baseline, or the refined generator of
the previous round of refinement)."""

from laser import classifier, generators, io, refiners
from laser.config import split
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
# phi_1 ... phi_k of the rounds before (none: the baseline itself)
paths = list(getattr(snakemake.input, "refiners", []))
p = snakemake.params
dtype = resolve_dtype(p.dtype)
device = resolve_device(snakemake.config.get("device", "auto"))
arch, optim = split(p.settings, classifier.ClassifierConfig)
data = io.load_samples(snakemake.input.data)["x"]
g = io.load_model(snakemake.input.baseline, generators.build, dtype, device)
chain = [io.load_model(r, refiners.build, dtype, device) for r in paths]
if chain:
    _, _, generated = generators.Refined(g, chain).sample(len(data), p.seed)
else:
    _, generated = generators.sample(g, len(data), p.seed)
model = classifier.train(data, generated, arch, optim, p.seed + 1, dtype, device)
io.save_model(model, model.hparams, snakemake.output.model)
