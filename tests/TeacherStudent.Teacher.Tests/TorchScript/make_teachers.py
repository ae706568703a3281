"""Writes the TorchScript teachers the C# tests serve, and PyTorch's own answers for them.

    make_teachers.py EXPORT_SNIPPET IMAGES COUNT OUT

EXPORT_SNIPPET is the export code of docs/bring-your-own-model.md, run as a user runs it: with
`model` (a small CNN of random weights, fixed seeds) and `class_names` defined, in the directory it
writes model.pt and model.json into. IMAGES holds COUNT Fashion-MNIST images, uint8 [COUNT, 1, 28, 28].

OUT/v1 and OUT/v2 get model.pt, model.json (seeds 1 and 2) and reference-T1.bin, reference-T2.bin:
log_softmax(model(x) / T) of the images by the eager model (not the traced one), float32 [COUNT, 10],
x normalised as the sidecar says. OUT/bad gets files each teacher service must refuse.
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
from torch import nn

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class SmallCnn(nn.Module):
    """A user's model: two conv blocks (one with batch norm) and a two-layer head with dropout."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 7 * 7, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, classes))

    def forward(self, x):
        return self.head(self.features(x))


class FeaturesOnly(SmallCnn):
    """Gives its feature maps [B, 16, 7, 7], not logits [B, classes]."""

    def forward(self, x):
        return self.features(x)


class LogitsAndFeatures(SmallCnn):
    """Gives a tuple (logits, features), not one tensor."""

    def forward(self, x):
        features = self.features(x)
        return self.head(features), features


def small_cnn(seed, kind=SmallCnn, classes=10):
    torch.manual_seed(seed)
    model = kind(classes)
    # Batch norm statistics of a trained model, not the identity of a fresh one.
    batch_norm = model.features[1]
    batch_norm.running_mean.uniform_(-0.5, 0.5)
    batch_norm.running_var.uniform_(0.5, 2.0)
    return model.eval()


def export(snippet, model, directory):
    """Runs the documented export lines in `directory`, as a user would."""
    os.makedirs(directory, exist_ok=True)
    here = os.getcwd()
    os.chdir(directory)
    try:
        exec(snippet, {"model": model, "class_names": list(CLASS_NAMES)})
    finally:
        os.chdir(here)


def reference(model, sidecar, pixels, temperature):
    """PyTorch's log_softmax(model(x) / T), x the pixels normalised as the sidecar says."""
    norm = sidecar["normalization"]
    mean = torch.tensor(norm["mean"], dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(norm["std"], dtype=torch.float32).view(-1, 1, 1)
    x = (torch.from_numpy(pixels).float() / 255 - mean) / std
    with torch.no_grad():
        return torch.log_softmax(model(x) / temperature, dim=1).numpy().astype("<f4")


def write_sidecar(path, **changes):
    sidecar = {"input": {"shape": [1, 28, 28], "dtype": "float32"},
               "normalization": {"mean": [0.2860], "std": [0.3530]}, "class_names": CLASS_NAMES}
    sidecar.update(changes)
    with open(path, "w") as f:
        json.dump({k: v for k, v in sidecar.items() if v is not None}, f)


def bad_files(good, directory):
    """One file (with its sidecar) per way of being refused; named after what is wrong."""
    os.makedirs(directory, exist_ok=True)
    path = lambda name: os.path.join(directory, name)
    shutil.copy(good, path("no-sidecar.pt"))
    shutil.copy(good, path("not-json.pt"))
    with open(path("not-json.json"), "w") as f:
        f.write("{ \"input\": this is not json")
    shutil.copy(good, path("no-class-names.pt"))
    write_sidecar(path("no-class-names.json"), class_names=None)
    shutil.copy(good, path("two-dimensional-shape.pt"))
    write_sidecar(path("two-dimensional-shape.json"), input={"shape": [28, 28], "dtype": "float32"})
    shutil.copy(good, path("rgb-shape.pt"))
    write_sidecar(path("rgb-shape.json"), input={"shape": [3, 32, 32], "dtype": "float32"})
    shutil.copy(good, path("five-classes.pt"))
    write_sidecar(path("five-classes.json"), class_names=CLASS_NAMES[:5])
    torch.save(small_cnn(1).state_dict(), path("state-dict.pt"))
    write_sidecar(path("state-dict.json"))
    with open(path("random-bytes.pt"), "wb") as f:
        f.write(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    write_sidecar(path("random-bytes.json"))
    example = torch.zeros(1, 1, 28, 28)
    torch.jit.trace(small_cnn(1, FeaturesOnly), example).save(path("features.pt"))
    write_sidecar(path("features.json"))
    torch.jit.trace(small_cnn(1, LogitsAndFeatures), example).save(path("tuple.pt"))
    write_sidecar(path("tuple.json"))
    # Sound in itself, but not a version of a ten-class teacher.
    torch.jit.trace(small_cnn(1, classes=5), example).save(path("other-classes.pt"))
    write_sidecar(path("other-classes.json"), class_names=CLASS_NAMES[:5])


def main(snippet_path, images_path, count, out):
    snippet = open(snippet_path).read()
    pixels = np.fromfile(images_path, dtype=np.uint8).reshape(int(count), 1, 28, 28)
    for version, seed in (("v1", 1), ("v2", 2)):
        model = small_cnn(seed)
        directory = os.path.join(out, version)
        export(snippet, model, directory)
        sidecar = json.load(open(os.path.join(directory, "model.json")))
        for temperature in (1, 2):
            reference(model, sidecar, pixels, temperature).tofile(os.path.join(directory, f"reference-T{temperature}.bin"))
    bad_files(os.path.join(out, "v1", "model.pt"), os.path.join(out, "bad"))
    print(torch.__version__)


if __name__ == "__main__":
    main(*sys.argv[1:])
