"""The datasets: the paper's toys (:mod:`laser.data.toys`), events read from files
in any dimension (:mod:`laser.data.files`), their per-feature transforms
(:mod:`laser.data.transforms`) and the Pythia 8 example (:mod:`laser.data.pythia`,
:mod:`laser.data.shapes`)."""
