"""Rule run_hmc: HMC on the pulled-back latent density, mapped through g."""

from laser import io
from laser.latent import hmc, target
from laser.models import classifier, generators
from laser.workflow import job, settings

j = job.start(snakemake)
g = io.load_model(j.input.baseline, generators.build, j.dtype, j.device)
clf = io.load_model(j.input.classifier, classifier.build, j.dtype, j.device)
config = settings.flat(hmc.HMCConfig, j.params.hmc)
q = target.Target(g, clf)
p = j.params
s = hmc.sample_hmc(config, q, p.n, p.seed, dataset=j.dataset, progress=j.progress)
io.save_table(s.table, j.output.diagnostics)
io.save_samples(j.output.samples, z=s.z, x=s.x)
