"""Rule table: all datasets' scores beside the paper's Table 3."""

from laser import io
from laser.evaluation import table3
from laser.logs import log_to

log_to(snakemake.log[0])
df = table3([io.load_table(f) for f in snakemake.input.metrics])
io.save_table(df, snakemake.output.tsv, snakemake.output.md)
