"""Rule generate_data: draw the toy's training, classifier, truth and test samples."""

from laser import datasets, io
from laser.logs import log_to
from laser.seeding import derive_seed

log_to(snakemake.log[0])
for name, n in snakemake.params.sizes.items():
    seed = derive_seed(snakemake.params.seed, name)
    x = datasets.sample(snakemake.wildcards.dataset, n, seed)
    io.save_samples(snakemake.output[name], x=x)
