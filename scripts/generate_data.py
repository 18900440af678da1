"""Rule generate_data: draw the toy's training, classifier, truth and test samples."""

from laser import io
from laser.data import toys as datasets
from laser.seeding import derive_seed
from laser.workflow import job

j = job.start(snakemake)
for name, n in j.params.sizes.items():
    x = datasets.sample(j.dataset, n, derive_seed(j.params.seed, name))
    io.save_samples(j.output[name], x=x)
