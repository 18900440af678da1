"""Rules train_classifier and train_classifier_iterated: train the classifier
data vs fresh samples of the generator (the baseline, or the refined generator of
the previous round of refinement), or vs the user's samples of a generator without
a latent space."""

from laser import io
from laser.data.transforms import from_hparams
from laser.models import classifier, generators, refiners
from laser.workflow import job, settings

j = job.start(snakemake)
target = io.load_samples(j.input.data)
data = target["x"]
if "generated" in j.input.keys():
    generated = io.load_samples(j.input.generated)["x"]
else:
    g = io.load_model(j.input.baseline, generators.build, j.dtype, j.device)
    # phi_1 ... phi_k of the rounds before (none: the baseline itself)
    paths = getattr(j.input, "refiners", [])
    chain = [io.load_model(r, refiners.build, j.dtype, j.device) for r in paths]
    generated = generators.Refined(g, chain).sample(len(data), j.params.seed)[-1]
arch, optim = settings.split(j.params.settings, classifier.ClassifierConfig)
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
)
io.save_model(model, model.hparams, j.output.model)
