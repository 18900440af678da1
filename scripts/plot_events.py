"""Rules plot_marginals and plot_corner: the figures of a dataset of events in D
dimensions, truth against the methods, in data units."""

from laser import io
from laser.data.transforms import from_hparams, quantise
from laser.evaluation import corner
from laser.evaluation.events import default_ranges
from laser.workflow import job

j = job.start(snakemake)
p = j.params
specs = from_hparams(p.transforms)
truth = io.load_samples(j.input.truth)
ranges = default_ranges(truth["x"])


def sample(path):
    s = io.load_samples(path)
    return quantise(s["x"], specs), s.get("w")


if "methods" in p.keys():  # plot_marginals: every method
    samples = {m: sample(j.input[m]) for m in p.methods}
    fig = corner.marginals_figure(
        truth["x"], samples, p.features, ranges, p.bins, truth.get("w")
    )
    io.save_figure(fig, j.output.png, j.output.pdf)
else:  # plot_corner: one method
    x, w = sample(j.input.samples)
    method = snakemake.wildcards.method
    fig = corner.corner_figure(
        truth["x"], x, p.features, ranges, p.bins, truth.get("w"), w, method=method
    )
    io.save_figure(fig, j.output.png)
