"""Assessment of samples: 2-D histograms (:mod:`~laser.evaluation.histograms`), the
exact EMD (:mod:`~laser.evaluation.transport` on :mod:`~laser.evaluation.multiscale`
and :mod:`~laser.evaluation.simplex`), the paper's metrics
(:mod:`~laser.evaluation.metrics`), the scores table
(:mod:`~laser.evaluation.scores`), topology (:mod:`~laser.evaluation.topology`),
weight diagnostics (:mod:`~laser.evaluation.weights`), figures
(:mod:`~laser.evaluation.plots`) and the report's first page
(:mod:`~laser.evaluation.summary`)."""
