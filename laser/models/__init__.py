"""The networks of Table 2 (arXiv:2106.00792): the RealNVP flow
(:mod:`~laser.models.flows`), the GAN (:mod:`~laser.models.gan`), the classifier
(:mod:`~laser.models.classifier`), the generators g of either kind
(:mod:`~laser.models.generators`) and the refiners phi
(:mod:`~laser.models.refiners`)."""
