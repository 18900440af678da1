"""Rule evaluate_events: every method's scores in D dimensions beside the noise
floor (laser.evaluation.events), in data units."""

from laser import io
from laser.data.transforms import from_hparams, quantise
from laser.evaluation.events import score_events
from laser.workflow import job

j = job.start(snakemake)
p, s = j.params, j.params.settings
specs = from_hparams(p.transforms)
names = list(p.features)
truth, test = (io.load_samples(j.input[k]) for k in ("truth", "truth_test"))
samples = {}
for m in p.methods:
    a = io.load_samples(j.input[m])
    samples[m] = (quantise(a["x"], specs), a.get("w"))
pairs = (
    None if p.pairs is None else [(names.index(a), names.index(b)) for a, b in p.pairs]
)
df = score_events(
    j.dataset,
    truth["x"],
    test["x"],
    samples,
    names=names,
    pairs=pairs,
    bins=s["bins"],
    pair_bins=s["pair_bins"],
    ranges=None,
    seed=p.seed,
    truth_weights=truth.get("w"),
    truth_test_weights=test.get("w"),
    twosample=s["twosample"],
    sources={
        "truth": j.input.truth,
        "truth_test": j.input.truth_test,
        **{m: j.input[m] for m in p.methods},
    },
)
io.save_table(df, j.output.scores)
