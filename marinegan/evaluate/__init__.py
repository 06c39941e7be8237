"""Evaluation: the real/synthetic ratio ablation, detector mAP, generator quality (FID, KID, P/R), memorisation."""

from marinegan.evaluate.ablation import AblationResult, CopyPasteArm, FreshArm, GanArm, ablate
from marinegan.evaluate.detection import build_detector, evaluate_detector, train_detector
from marinegan.evaluate.memorisation import nearest_neighbour_picture, nearest_neighbours
from marinegan.evaluate.quality import inception_extractor, precision_recall, quality_metrics

__all__ = [
    "AblationResult",
    "CopyPasteArm",
    "FreshArm",
    "GanArm",
    "ablate",
    "build_detector",
    "evaluate_detector",
    "inception_extractor",
    "nearest_neighbour_picture",
    "nearest_neighbours",
    "precision_recall",
    "quality_metrics",
    "train_detector",
]
