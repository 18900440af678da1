"""What only the workflow's ``rules/`` and ``scripts/`` use: config validation
(:mod:`~laser.workflow.config`), the hop from a config section to its dataclass
(:mod:`~laser.workflow.settings`), the resources of each rule
(:mod:`~laser.workflow.resources`), the wall time of a run before it starts
(:mod:`~laser.workflow.estimate`), each rule's code inputs
(:mod:`~laser.workflow.code`), the job set-up of every script
(:mod:`~laser.workflow.job`) and the removal of completed jobs' saved progress
(:mod:`~laser.workflow.cleanup`). Nothing else in the package imports it."""
