"""Serving a trained model: `load_model(model_dir).predict(image_bytes)` gives one probability per class.

Images take the validation path (resize of the shorter side, centre crop to image_shape). Single-label
models answer softmax probabilities, which sum to 1; multi-label models answer one sigmoid probability per
class, as the algorithm does.
"""

from __future__ import annotations

from pathlib import Path

import torch

from icflow_tools.trainer import artifacts
from icflow_tools.trainer.api import ClientError
from icflow_tools.trainer.device import choose_device
from icflow_tools.trainer.hyperparameters import ImageShape, parse_image_shape
from icflow_tools.trainer.images import decode, deterministic
from icflow_tools.trainer.resnet import ResNet


class ResNetClassifier:
    def __init__(self, model: ResNet, config: artifacts.ModelConfig, shape: ImageShape, device: torch.device) -> None:
        self.model = model
        self.config = config
        self.shape = shape
        self.device = device

    def predict(self, image: bytes) -> list[float]:
        pixels = deterministic(decode(image, self.shape, "the request body"), self.shape, self.config.resize)
        batch = pixels[None].to(self.device).float().contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            logits = self.model(batch)[0].float()
        probabilities = torch.sigmoid(logits) if self.config.multi_label else torch.softmax(logits, dim=0)
        return probabilities.cpu().tolist()


def load_model(model_dir: Path) -> ResNetClassifier:
    config = artifacts.read_config(model_dir)
    shape = parse_image_shape(config.image_shape)
    model = ResNet(config.num_layers, config.num_classes, shape)
    try:
        model.load_state_dict(torch.load(model_dir / config.params, map_location="cpu", weights_only=True))
    except (OSError, RuntimeError, KeyError) as error:
        raise ClientError(f"the model's parameter file {config.params} cannot be loaded: {error}") from error
    device = choose_device()
    model.to(device, memory_format=torch.channels_last).eval()
    return ResNetClassifier(model, config, shape, device)
