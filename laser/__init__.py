"""Latent Space Refinement (LaSeR, arXiv:2106.00792): the science of the workflow."""
