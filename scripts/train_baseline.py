"""Rule train_baseline: fit the baseline generator g (RealNVP by maximum
likelihood, or a GAN) to the training data, weighted by the events' weights."""

from laser import io
from laser.data.transforms import from_hparams
from laser.models import generators
from laser.workflow import job, settings

j = job.start(snakemake)
data = io.load_samples(j.input.train)
arch, optim = settings.baseline(j.params.settings)
specs = from_hparams(j.params.transforms)
model = generators.train(
    data["x"],
    arch,
    optim,
    j.params.seed,
    **j.compute,
    weights=data.get("w"),
    transforms=specs,
)
io.save_model(model, model.hparams, j.output.model)
