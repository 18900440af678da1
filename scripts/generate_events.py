"""Rule generate_events: e+e- -> hadrons generated with Pythia 8, reduced to event
shapes, one row per event."""

from laser import io
from laser.data import pythia
from laser.workflow import job

j = job.start(snakemake)
p = j.params.pythia
events = pythia.generate(
    p["n_events"], j.params.seed, sqrt_s=p["sqrt_s"], processes=snakemake.threads
)
io.save_events(events, j.output.events)
