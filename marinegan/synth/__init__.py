"""Synthesis: generated samples as a Dataset, and compositing of objects onto backgrounds."""

from marinegan.synth.composite import CompositeOptions, composite
from marinegan.synth.dataset import SyntheticPlasticDataset

__all__ = ["CompositeOptions", "SyntheticPlasticDataset", "composite"]
