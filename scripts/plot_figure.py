"""Rule plot_figure: the paper's Fig. 3-5 grid for one dataset, with Betti numbers."""

from laser import io, plots
from laser.evaluation import betti_of
from laser.logs import log_to

log_to(snakemake.log[0])
p, inp = snakemake.params, snakemake.input
betti = betti_of(io.load_table(inp.metrics))  # measured in rule evaluate
truth = io.load_samples(inp.truth)["x"][:, p.dims]
panels = [plots.Panel("truth", truth, betti=betti["truth"][0])]
for m in p.methods:
    s = io.load_samples(inp[m], required=("x", "z"))
    panels.append(
        plots.Panel(m, s["x"][:, p.dims], s["z"][:, :2], s.get("w"), *betti[m])
    )
fig = plots.figure_grid(
    panels, p.range, p.latent_range, p.bins, plots.title(snakemake.wildcards.dataset)
)
io.save_figure(fig, snakemake.output.png, snakemake.output.pdf)
