"""Rule train_refiner: train the refiner phi (GAN or flow) on the weighted latent
points."""

from laser import io, refiners
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p = snakemake.params
s = io.load_samples(snakemake.input.samples, required=("z", "w"))
n = p.settings["n_train"]
device = resolve_device(snakemake.config.get("device", "auto"))
model = refiners.train(
    s["z"][:n],
    s["w"][:n],
    p.settings,
    p.seed,
    resolve_dtype(p.dtype),
    device,
    generator=p.generator,
)
io.save_model(model, model.hparams, snakemake.output.model)
