"""Rule train_baseline: fit the baseline generator g (RealNVP by maximum
likelihood, or a GAN) to the training data, weighted by the events' weights; or
bring in the user's own trained generator (events.<name>.generator)."""

from laser import io
from laser.data.transforms import from_hparams
from laser.models import external, generators
from laser.workflow import job, settings

j = job.start(snakemake)
p = j.params
data = io.load_samples(j.input.train)
if p.generator is not None:  # the user's own generator, checked on a few points
    state = io.load_state(j.input.checkpoint)
    g = p.generator
    model = external.load(
        g["factory"], g["options"], state, data["x"].shape[1], j.input.checkpoint
    )
else:
    arch, optim = settings.baseline(p.settings)
    specs = from_hparams(p.transforms)
    model = generators.train(
        data["x"],
        arch,
        optim,
        p.seed,
        **j.compute,
        weights=data.get("w"),
        transforms=specs,
    )
io.save_model(model, model.hparams, j.output.model)
