"""Rule table_events: the scores of every dataset of events, averaged over
features, beside the noise floor."""

import pandas as pd

from laser import io
from laser.evaluation.events import summarise
from laser.workflow import job

j = job.start(snakemake)
df = summarise(pd.concat([io.load_table(f) for f in j.input.scores], ignore_index=True))
io.save_table(df, j.output.tsv, j.output.md)
