"""Rules train_refiner, train_refiner_iterated and train_refiner_blackbox: train
the refiner phi (GAN or flow) on the weighted latent points."""

from laser import io
from laser.models import refiners
from laser.workflow import job, settings

j = job.start(snakemake)
s = io.load_samples(j.input.samples, required=("z", "w"))
arch, optim, n = settings.refiner(j.params.settings, latent_dim=s["z"].shape[1])
p = j.params
kind = {"generator": p.generator, "n_train": n}
model = refiners.train(s["z"], s["w"], arch, optim, p.seed, **j.compute, **kind)
io.save_model(model, model.hparams, j.output.model)
