"""Rule train_refiner: train the GAN refiner phi on the weighted latent points."""

from laser import gan, io
from laser.config import split
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
arch, optim = split(p.settings, gan.GANConfig)
s = io.load_samples(snakemake.input.samples, required=("z", "w"))
n = p.settings["n_train"]
device = resolve_device(snakemake.config.get("device", "auto"))
model = gan.train(
    s["z"][:n], s["w"][:n], arch, optim, p.seed, resolve_dtype(p.dtype), device
)
io.save_model(model, model.hparams, snakemake.output.model)
