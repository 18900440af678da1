"""Latent Space Refinement (LaSeR, arXiv:2106.00792): the science of the workflow.

Layers, each importing only those below it: :mod:`laser.workflow` (used by the
rules and scripts only), :mod:`laser.blackbox`, :mod:`laser.evaluation` and
:mod:`laser.latent`, :mod:`laser.models`, :mod:`laser.data` (the toys, event
files, feature transforms, the Pythia example) and the base modules (``nn``,
``training``, ``checks``, ``progress``, ``io``, ``seeding``, ``methods``).
"""
