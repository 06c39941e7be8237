"""The model card (``README.md``) written beside a saved generator or discriminator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from huggingface_hub import ModelCard, ModelCardData

if TYPE_CHECKING:
    from marinegan.models.dcgan import _HubModel

TEMPLATE = """---
{card_data}
---

# marinegan {role}: DCGAN, {image_size}x{image_size}, {channels} channels

A DCGAN {role} (Radford et al. 2015, the PyTorch DCGAN example's architecture) made with
[marinegan](https://github.com/marinegan/marinegan) to synthesise images of marine plastic
debris for training detectors.

## Architecture

| field | value |
| --- | --- |
{config_rows}
| parameters | {n_params:,} |

Load it with `marinegan.load_generator("<this repo or directory>")` or
`marinegan.{cls_name}.from_pretrained(...)`. Weights are in `model.safetensors`; nothing is pickled.

## Training data

{training_data}

## Training recipe

{recipe}

## Licence

{licence_text}

## Intended use

Data augmentation for marine-debris detection research: generated samples are mixed into real
training sets (`marinegan.mix_datasets`) and their effect is measured on held-out **real** images
(`marinegan ablate`). Generated images are not observations: do not use them as evidence of
debris at any place, nor to evaluate a detector.

## Limitations

A DCGAN trained on a small set reproduces the colours and shapes of that set and little else;
check samples visually and with FID/KID against real images before use.
"""


def render_model_card(
    model: _HubModel,
    *,
    training_data: str = "Not recorded. State the data set, its size, its licence and its attribution here.",
    recipe: str = "Not recorded.",
    license: str = "mit",
    data_license: str = "",
) -> ModelCard:
    """Build the card; keyword arguments come from ``save_pretrained(model_card_kwargs=...)``.

    ``license`` is the weights' licence identifier for the Hub metadata (``"other"`` when the data's own
    terms apply); ``data_license`` states the terms of the training data, which the weights carry. When
    no data licence is given, the card says the data's terms are unknown rather than implying the
    weights are MIT.
    """
    if data_license:
        weights = "" if license == "other" else f"Weights: {license}. "
        licence_text = f"{weights}{data_license} The code that made them (marinegan) is MIT-licensed."
    else:
        licence_text = ("The code that made these weights (marinegan) is MIT-licensed. The training data's licence "
                        "was not recorded, so the terms under which these weights may be used are unknown: weights "
                        "carry the terms of the data they were trained on. Check the data's licence before use.")
    config = model.config.to_dict()
    rows = "\n".join(f"| {k} | {v} |" for k, v in config.items())
    data = ModelCardData(
        library_name="marinegan",
        license=license,
        tags=["gan", "dcgan", "marine-debris", "synthetic-data", "pytorch_model_hub_mixin"],
        pipeline_tag="unconditional-image-generation",
    )
    text = TEMPLATE.format(
        card_data=data.to_yaml(),
        role=model.role,
        image_size=config["image_size"],
        channels=config["channels"],
        config_rows=rows,
        n_params=sum(p.numel() for p in model.parameters()),
        cls_name=type(model).__name__,
        training_data=training_data,
        recipe=recipe,
        licence_text=licence_text,
    )
    return ModelCard(text)
