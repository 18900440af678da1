"""Rule summary: the scores beside the paper's and the figures, the report's
landing page (report/workflow.rst)."""

from pathlib import Path

from laser import io
from laser.evaluation import summary
from laser.workflow import job

j = job.start(snakemake)
figures = {
    d: Path(f).read_bytes()
    for d, f in zip(j.params.datasets, j.input.figures, strict=True)
}
table = io.load_table(j.input.tsv[0]) if j.input.tsv else None
events = io.load_table(j.input.scores[0]) if j.input.scores else None
seeds = Path(j.input.seeds[0]).read_text() if j.input.seeds else None
page = summary.to_html(table, figures, events=events, seeds=seeds)
io.save_text(page, j.output[0])
