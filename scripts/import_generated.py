"""Rule import_generated: the user's samples of a generator without a latent space,
checked and split disjointly: points for the classifier, and the baseline's
evaluation sample."""

from laser import io
from laser.data import files
from laser.workflow import job

j = job.start(snakemake)
p = j.params
source = files.EventSource(
    features=tuple(p.source["features"]),
    path=j.input.generated,
    format=p.source["format"],
    key=p.source["key"],
)
for name, (x, _) in files.split(
    files.read(j.input.generated, source), p.sizes, p.seed, j.input.generated
).items():
    io.save_samples(j.output[name], x=x)
