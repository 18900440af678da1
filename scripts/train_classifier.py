"""Rule train_classifier: train the classifier data vs fresh baseline samples."""

from laser import classifier, flows, io
from laser.config import split
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
dtype = resolve_dtype(p.dtype)
device = resolve_device(snakemake.config.get("device", "auto"))
arch, optim = split(p.settings, classifier.ClassifierConfig)
data = io.load_samples(snakemake.input.data)["x"]
flow = io.load_model(snakemake.input.baseline, flows.build, dtype, device)
_, generated = flows.sample(flow, len(data), p.seed)
model = classifier.train(data, generated, arch, optim, p.seed + 1, dtype, device)
io.save_model(model, model.hparams, snakemake.output.model)
