"""Rule run_omnifold: the OmniFold pull-back of the black box's weights to z, its
diagnostics per iteration, and the latent weights nu(z) of the box's samples."""

from laser import io
from laser.blackbox import base, omnifold, spec
from laser.models.classifier import ClassifierConfig
from laser.workflow import job, settings

j = job.start(snakemake)
p = j.params
data = io.load_samples(j.input.data)["x"]
box = spec.load(p.spec, p.options, j.input.baseline, j.dtype, j.device)
z_gen, x_gen = base.sample(box, len(data), p.seed)  # as many pairs as data points
config = settings.omnifold(p.settings, omnifold.OmniFoldConfig, ClassifierConfig)
result = omnifold.pull_back(z_gen, x_gen, data, config, p.seed + 1, **j.compute)
table = result.table.assign(dataset=j.dataset)
io.save_table(table[["dataset", *result.table.columns]], j.output.diagnostics)
io.save_model(result.latent_weight, result.latent_weight.hparams, j.output.model)
s = io.load_samples(j.input.samples, required=("z", "x"))
io.save_samples(
    j.output.samples, **omnifold.weigh(result.latent_weight, s["z"], s["x"])
)
