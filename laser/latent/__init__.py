"""The latent target q(z) = p(z) w(g(z)) / Z0 (arXiv:2106.00792, Sec. 3, Eq. 3) and
every sampler of it, with one call shape, ``sample_<name>(config, target, n, seed)``
returning a :class:`~laser.latent.target.LatentSample`: HMC
(:mod:`~laser.latent.hmc`, on :mod:`~laser.latent.integrator`,
:mod:`~laser.latent.kernels` and :mod:`~laser.latent.adaptation`), the oracle
(:mod:`~laser.latent.oracle`), rejection (:mod:`~laser.latent.rejection`, also of
LaSeR's refiner draws: :mod:`~laser.latent.unweighting`) and Langevin
(:mod:`~laser.latent.langevin`); chain health in :mod:`~laser.latent.diagnostics`."""
