"""Runs the loading snippet of the README ("Bring your own model") on a student the trainer wrote.

    run_loading_snippet.py SNIPPET IMAGES COUNT OUT

Run in the directory that holds runs/student/ (the paths the snippet names). IMAGES holds COUNT
Fashion-MNIST images, uint8 [COUNT, 1, 28, 28]; OUT gets predict(pixels) as float32 [COUNT, classes]
(little-endian), and the predicted classes are printed, one line.
"""
import sys

import numpy as np
import torch


def main(snippet_path, images_path, count, out):
    scope = {}
    exec(open(snippet_path).read(), scope)
    pixels = torch.from_numpy(np.fromfile(images_path, dtype=np.uint8).reshape(int(count), 1, 28, 28))
    log_probs = scope["predict"](pixels)
    log_probs.numpy().astype("<f4").tofile(out)
    print(" ".join(str(c) for c in log_probs.argmax(1).tolist()))


if __name__ == "__main__":
    main(*sys.argv[1:])
