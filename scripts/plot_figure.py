"""Rule plot_figure: the paper's Fig. 3-5 grid for one dataset, with Betti numbers."""

from laser import io
from laser.evaluation import plots
from laser.evaluation.scores import betti_of
from laser.workflow import job

j = job.start(snakemake)
p = j.params
betti = betti_of(io.load_table(j.input.metrics))  # measured in rule evaluate
truth = io.load_samples(j.input.truth)["x"][:, p.dims]
panels = [plots.Panel("truth", truth, betti=betti["truth"][0])]
for m in p.methods:
    s = io.load_samples(j.input[m], required=("x", "z"))
    panels.append(
        plots.Panel(m, s["x"][:, p.dims], s["z"][:, :2], s.get("w"), *betti[m])
    )
title = plots.title(j.dataset)
fig = plots.figure_grid(panels, p.range, p.latent_range, p.bins, title)
io.save_figure(fig, j.output.png, j.output.pdf)
