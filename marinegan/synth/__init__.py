"""Synthesis: generated samples as a Dataset, real cut-outs pasted the same way, and the compositor."""

from marinegan.synth.composite import CompositeOptions, composite
from marinegan.synth.dataset import CopyPasteDataset, SyntheticPlasticDataset

__all__ = ["CompositeOptions", "CopyPasteDataset", "SyntheticPlasticDataset", "composite"]
