"""Rules sample_laser and sample_laser_iterated: the refined generator,
z = phi_1(...phi_k(y)) and x = g(z); with refiner.unweight (sample_laser), the flow
refiner's draws accepted with probability q(z) / (M r(z))."""

import logging

import torch

from laser import io
from laser.latent import rejection, target, unweighting
from laser.models import classifier, generators, refiners
from laser.workflow import job, settings

j = job.start(snakemake)
g = io.load_model(j.input.baseline, generators.build, j.dtype, j.device)
# phi_1 ... phi_k, in the order they were trained
chain = [io.load_model(r, refiners.build, j.dtype, j.device) for r in j.input.refiners]
if j.params.get("rejection") is not None:  # refiner.unweight
    clf = io.load_model(j.input.classifier, classifier.build, j.dtype, j.device)
    config = settings.flat(rejection.RejectionConfig, j.params.rejection)
    phi, q = chain[0], target.Target(g, clf)
    s = unweighting.sample_unweighted(
        config,
        q,
        j.params.n,
        j.params.seed,
        refiner=phi,
        dataset=j.dataset,
        progress=j.progress,
    )
    table = s.table.T.to_string(header=False)
    logging.getLogger("sample_laser").info("unweighting diagnostics:\n%s", table)
    y = unweighting.refiner_inputs(phi, torch.as_tensor(s.z)).numpy()
    io.save_samples(j.output.samples, y=y, z=s.z, x=s.x)
else:
    y, z, x = generators.Refined(g, chain).sample(j.params.n, j.params.seed)
    io.save_samples(j.output.samples, y=y, z=z, x=x)
