"""Rule run_hmc: HMC on the pulled-back latent density, mapped through g."""

from laser import classifier, flows, io, mcmc, pullback
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
dtype, device = (
    resolve_dtype(p.dtype),
    resolve_device(snakemake.config.get("device", "auto")),
)
flow = io.load_model(snakemake.input.baseline, flows.build, dtype, device)
clf = io.load_model(snakemake.input.classifier, classifier.build, dtype, device)
settings = dict(p.hmc)
init = settings.pop("init")
z, x, _ = pullback.sample_hmc(
    flow, clf, p.n, mcmc.HMCConfig(**settings), p.seed, init=init
)
io.save_samples(snakemake.output.samples, z=z, x=x)
