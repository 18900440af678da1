"""Rule table: all datasets' scores beside the paper's Table 3."""

from laser import io
from laser.evaluation.scores import table3
from laser.workflow import job

j = job.start(snakemake)
df = table3([io.load_table(f) for f in j.input.metrics])
io.save_table(df, j.output.tsv, j.output.md)
