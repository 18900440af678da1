"""Rule weight_diagnostics: ESS, quantiles and calibration of the DCTR weights; for
the toys, the learned log-weights against the exact log(p_data / p_g) where the
baseline has a density (a flow)."""

from laser import io
from laser.evaluation import weights
from laser.models import classifier, generators
from laser.workflow import job

j = job.start(snakemake)
p = j.params
g = io.load_model(j.input.baseline, generators.build, j.dtype, j.device)
clf = io.load_model(j.input.classifier, classifier.build, j.dtype, j.device)
dctr = io.load_samples(j.input.samples, required=("x", "log_w"))
held_out = {"n_calibration": p.n_calibration, "seed": p.seed, "bins": p.bins}
if "truth_test" in j.input.keys():  # events: held out from the classifier
    held_out["data"] = io.load_samples(j.input.truth_test)["x"]
table, curve, fig = weights.diagnose(g, clf, j.dataset, dctr, **held_out)
io.save_table(table, j.output.summary)
io.save_table(curve, j.output.calibration)
io.save_figure(fig, j.output.png)
