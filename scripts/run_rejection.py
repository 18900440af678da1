"""Rule run_rejection: rejection sampling of the pulled-back latent density."""

from laser import io
from laser.latent import rejection, target
from laser.models import classifier, generators
from laser.workflow import job, settings

j = job.start(snakemake)
g = io.load_model(j.input.baseline, generators.build, j.dtype, j.device)
clf = io.load_model(j.input.classifier, classifier.build, j.dtype, j.device)
config = settings.flat(rejection.RejectionConfig, j.params.rejection)
q, p = target.Target(g, clf), j.params
s = rejection.sample_rejection(
    config, q, p.n, p.seed, dataset=j.dataset, progress=j.progress
)
io.save_table(s.table, j.output.diagnostics)
io.save_samples(j.output.samples, z=s.z, x=s.x)
