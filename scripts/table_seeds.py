"""Rule table_seeds: a study over seeds (config key seeds) folded into the mean
and standard deviation of every score, with the Betti numbers per seed."""

from laser import io
from laser.evaluation import seeds
from laser.workflow import job

j = job.start(snakemake)
df = seeds.over_seeds(io.load_table(j.input.tsv))
io.save_table(df, j.output.tsv)
text = seeds.markdown(df) if "convention" in df else df.to_markdown(index=False) + "\n"
io.save_text(text, j.output.md)
