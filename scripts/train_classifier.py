"""Rules train_classifier and train_classifier_iterated: train the classifier
data vs fresh samples of the generator (the baseline, or the refined generator of
the previous round of refinement), or vs the user's samples of a generator without
a latent space.

``classifier.fresh_generated`` draws a new generated sample for every epoch;
``classifier.log_density`` gives the classifier the baseline flow's log p_g(x)
(:mod:`laser.models.flow_aware`). Both need a generator: the config refuses them
for a dataset given only by samples. ``classifier.with_train`` adds the baseline's
training points to the data (and as many generated points)."""

from laser import io
from laser.data.transforms import from_hparams
from laser.models import classifier, flow_aware, generators, refiners
from laser.workflow import job, settings

j = job.start(snakemake)
# the classifier's data, and with classifier.with_train the baseline's training points
target = io.load_joined(*(j.input[k] for k in ("data", "train") if k in j.input.keys()))
data = target["x"]
section = j.params.settings
flow = fresh = None
if "generated" in j.input.keys():
    for key in ("fresh_generated", "log_density"):
        if section.get(key):
            raise ValueError(
                f"'classifier.{key}' needs a generator, but dataset {j.dataset} "
                "has only samples of one (events.<name>.generated): set it false"
            )
    generated = io.load_samples(j.input.generated)["x"]
else:
    g = io.load_model(j.input.baseline, generators.build, j.dtype, j.device)
    # phi_1 ... phi_k of the rounds before (none: the baseline itself)
    paths = getattr(j.input, "refiners", [])
    chain = [io.load_model(r, refiners.build, j.dtype, j.device) for r in paths]
    refined = generators.Refined(g, chain)
    generated = refined.sample(len(data), j.params.seed)[-1]
    if section.get("fresh_generated"):
        fresh = flow_aware.fresh_sampler(
            lambda s: refined.sample(len(data), s)[-1], j.params.seed
        )
    if section.get("log_density"):
        flow_aware.check_density(g)
        flow = g  # the baseline's density, also for a refined generator
arch, optim = settings.split(section, classifier.ClassifierConfig)
seed = j.params.seed + 1
specs = from_hparams(j.params.transforms)
model = classifier.train(
    data,
    generated,
    arch,
    optim,
    seed,
    **j.compute,
    w_data=target.get("w"),
    transforms=specs,
    flow=flow,
    fresh=fresh,
)
io.save_model(model, model.hparams, j.output.model)
