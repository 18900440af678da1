"""Rule generate_data: the dataset's training, classifier, truth and test samples,
drawn from a toy, or read from event files, checked and split disjointly."""

from laser import io
from laser.data import files, toys
from laser.data.transforms import from_hparams
from laser.seeding import derive_seed
from laser.workflow import job

j = job.start(snakemake)
p = j.params
if p.source is None:  # a toy of the paper
    for name, n in p.sizes.items():
        io.save_samples(
            j.output[name], x=toys.sample(j.dataset, n, derive_seed(p.seed, name))
        )
else:  # events: every file read and checked before any sample is written
    source = files.EventSource(**{**p.source, "features": tuple(p.source["features"])})
    specs = from_hparams(p.transforms)
    for name, (x, w) in files.prepare(source, specs, p.sizes, p.seed).items():
        io.save_samples(j.output[name], x=x, **({} if w is None else {"w": w}))
