"""Put a classifier into the deterministic form that every export starts from."""

from __future__ import annotations

import logging

from timm.layers import DropPath
from torch import nn

from bird_pipeline.models.classifier import BirdClassifier

logger = logging.getLogger(__name__)

STOCHASTIC_LAYERS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout, DropPath)


def prepare_for_export(model: BirdClassifier) -> BirdClassifier:
    """Switch to eval mode, drop stochastic layers and pick the export front end.

    In eval mode dropout and drop-path modules already pass inputs through;
    replacing them with identities also keeps them out of the traced graphs.
    The SED head's functional dropout follows `self.training`, so eval mode
    turns it off as well. The mel front end switches to its framed-DFT form,
    which computes the same spectrogram and runs faster in OpenVINO.

    Returns:
        The same model, changed in place.
    """
    model.eval()
    replaced = 0
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, STOCHASTIC_LAYERS):
                setattr(parent, name, nn.Identity())
                replaced += 1
    logger.info("Replaced %d dropout and drop-path modules with identities", replaced)
    model.frontend.use_framed_dft = True
    return model
