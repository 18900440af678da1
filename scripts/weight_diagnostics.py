"""Rule weight_diagnostics: ESS, quantiles and calibration of the DCTR weights; for
the toys, the learned log-weights against the exact log(p_data / p_g) where the
baseline has a density (a flow)."""

from laser import classifier, generators, io, oracle, plots, weights
from laser.logs import log_to
from laser.training import resolve_device, resolve_dtype

log_to(snakemake.log[0], snakemake.threads)
p, dataset = snakemake.params, snakemake.wildcards.dataset
dtype = resolve_dtype(p.dtype)
device = resolve_device(snakemake.config.get("device", "auto"))
g = io.load_model(snakemake.input.baseline, generators.build, dtype, device)
clf = io.load_model(snakemake.input.classifier, classifier.build, dtype, device)
dctr = io.load_samples(snakemake.input.samples, required=("x", "log_w"))
# the toys' p_data / p_g, where g has a density (a RealNVP; not a GAN)
exact = (
    oracle.exact_log_weights(g, dataset, dctr["x"])
    if generators.has_density(g)
    else None
)
held_out = weights.calibration_logits(clf, g, dataset, p.n_calibration, p.seed)
curve = weights.calibration_curve(*held_out, bins=p.bins)
table = weights.summary(dataset, dctr["log_w"], curve, exact)
title = f"{dataset.replace('_', ' ')}: weights w = f/(1-f) of the classifier"
fig = plots.weight_figure(dctr["log_w"], curve, table.iloc[0], exact, title)
io.save_table(table, snakemake.output.summary)
io.save_table(curve, snakemake.output.calibration)
io.save_figure(fig, snakemake.output.png)
