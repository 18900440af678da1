"""Rules train_refiner, train_refiner_iterated and train_refiner_blackbox: train
the refiner phi (GAN or flow) on the weighted latent points."""

from laser import io
from laser.latent import target
from laser.models import classifier, generators, refiners
from laser.workflow import job, settings

j = job.start(snakemake)
s = io.load_samples(j.input.samples, required=("z", "w"))
section = j.params.settings
arch, optim, n = settings.refiner(section, latent_dim=s["z"].shape[1])
p = j.params
kind = {"generator": p.generator, "n_train": n}
if section["kind"] == "flow":
    # the flow refiner: its identity start, its reverse-KL term against q(z) and
    # its log-variance term
    kind.update(
        identity=section["residual"],
        reverse_kl=section["reverse_kl"],
        log_variance=section["log_variance"],
    )
    if section["reverse_kl"] > 0:
        if "classifier" not in j.input.keys():
            raise ValueError(
                f"refiner.reverse_kl = {section['reverse_kl']}: the reverse-KL term "
                f"is for the first round of the baseline (rule train_refiner), not "
                "for later rounds or a black box; set refiner.reverse_kl: 0 for them"
            )
        g = io.load_model(j.input.baseline, generators.build, j.dtype, j.device)
        clf = io.load_model(j.input.classifier, classifier.build, j.dtype, j.device)
        kind["log_q"] = target.latent_log_prob(g, clf)
model = refiners.train(s["z"], s["w"], arch, optim, p.seed, **j.compute, **kind)
io.save_model(model, model.hparams, j.output.model)
