"""The project's classifier students in PyTorch: the same layouts and parameter names as the C# models,
so that the model.safetensors + model.json every `train` run writes load with `load_state_dict`.

Needs torch and the `safetensors` package (`pip install safetensors`); the rest of the client does not.
"""
import json
import os

import torch
from torch import nn


class Mlp(nn.Module):
    """The project's MLP: two hidden layers of `width` units with ReLU (dropout is off in eval)."""

    def __init__(self, spec):
        super().__init__()
        c, h, w = spec["input"]["shape"]
        width, classes = spec["width"], len(spec["class_names"])
        self.layers = nn.Sequential(
            nn.Flatten(), nn.Linear(c * h * w, width), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(width, width), nn.ReLU(), nn.Dropout(0.1), nn.Linear(width, classes))

    def forward(self, x):
        return self.layers(x)


class ConvNet(nn.Module):
    """The project's ConvNet: two 3x3 conv blocks (conv, batch norm, ReLU, 2x2 max-pool), then a two-layer head."""

    def __init__(self, spec):
        super().__init__()
        c, h, w = spec["input"]["shape"]
        width, classes = spec["width"], len(spec["class_names"])
        self.features = nn.Sequential(
            nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(2 * width * (h // 4) * (w // 4), 4 * width), nn.ReLU(),
            nn.Dropout(0.3), nn.Linear(4 * width, classes))

    def forward(self, x):
        return self.head(self.features(x))


ARCHITECTURES = {"mlp": Mlp, "convnet": ConvNet}


class Student:
    """A student loaded from a run directory: `model` (eval mode), its `spec`, and `predict`."""

    def __init__(self, model, spec):
        self.model = model
        self.spec = spec

    def predict(self, pixels):
        """Log-probabilities [B, classes] of uint8 pixels [B, C, H, W], normalised as the spec says."""
        mean = torch.tensor(self.spec["normalization"]["mean"]).view(-1, 1, 1)
        std = torch.tensor(self.spec["normalization"]["std"]).view(-1, 1, 1)
        with torch.no_grad():
            return torch.log_softmax(self.model((pixels.float() / 255 - mean) / std), dim=1)


def load_student(directory):
    """The student in `directory` (model.json and model.safetensors, as `train` writes them)."""
    from safetensors.torch import load_file

    with open(os.path.join(directory, "model.json")) as f:
        spec = json.load(f)
    model = ARCHITECTURES[spec["architecture"]](spec)
    model.load_state_dict(load_file(os.path.join(directory, "model.safetensors")))
    return Student(model.eval(), spec)
