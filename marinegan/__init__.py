"""marinegan: GAN-made synthetic marine plastic, mixed into real detection datasets.

The path of a user: data in (:mod:`marinegan.data`), models (:mod:`marinegan.models`), training
(:mod:`marinegan.train`), the Hub (:mod:`marinegan.hub`), synthesis (:mod:`marinegan.synth`),
mixing (:mod:`marinegan.mix`), export (:mod:`marinegan.export`), evaluation (:mod:`marinegan.evaluate`).
"""

from marinegan.data import CocoDataset, ImageFolderDataset, VocDataset, YoloDataset, object_crops, open_dataset
from marinegan.device import resolve_device
from marinegan.errors import ConfigError, DataError, HubError, MarineganError, WeightsError
from marinegan.evaluate import ablate, quality_metrics
from marinegan.export import export_dataset
from marinegan.hub import load_generator
from marinegan.mix import MixedDataset, detection_collate, mix_datasets
from marinegan.models import DCGANConfig, Discriminator, Generator
from marinegan.synth import CompositeOptions, CopyPasteDataset, SyntheticPlasticDataset
from marinegan.transforms import PasteObjects, SpriteBank

__version__ = "0.1.0"

__all__ = [
    "CocoDataset",
    "CompositeOptions",
    "ConfigError",
    "CopyPasteDataset",
    "DCGANConfig",
    "DataError",
    "Discriminator",
    "Generator",
    "HubError",
    "ImageFolderDataset",
    "MarineganError",
    "MixedDataset",
    "PasteObjects",
    "SpriteBank",
    "SyntheticPlasticDataset",
    "VocDataset",
    "WeightsError",
    "YoloDataset",
    "ablate",
    "detection_collate",
    "export_dataset",
    "load_generator",
    "mix_datasets",
    "object_crops",
    "open_dataset",
    "quality_metrics",
    "resolve_device",
]
