"""Rule train_baseline: fit the baseline generator g (RealNVP by maximum
likelihood, or a GAN) to the training data."""

from laser import io
from laser.models import generators
from laser.workflow import job, settings

j = job.start(snakemake)
x = io.load_samples(j.input.train)["x"]
arch, optim = settings.baseline(j.params.settings)
model = generators.train(x, arch, optim, j.params.seed, **j.compute)
io.save_model(model, model.hparams, j.output.model)
