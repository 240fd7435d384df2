"""A tiny numpy MLP that classifies 16x16 grayscale images of shapes.

This module is self-contained on purpose: train.py copies it into every checkpoint
(code/shapes_model.py) so that the serving image can load any checkpoint with the code
that produced it, as the original serving image did with Determined's trial loader.
Only numpy is needed; it trains on a CPU in well under a second.
"""

import json
import os
from typing import Dict, List, Tuple

import numpy as np

CLASSES: Tuple[str, ...] = ("circle", "square", "triangle")
IMAGE_SIZE = 16
FORMAT = "ct-shapes-mlp/1"
WEIGHTS_FILE = "weights.npz"
MODEL_FILE = "model.json"


def read_pgm(data: bytes) -> np.ndarray:
    """Decodes a plain (P2) or raw (P5) 8-bit PGM image into a float array in [0, 1]."""
    if data[:2] == b"P5":
        # Header: magic, width, height, maxval, then one whitespace byte and the raw pixels.
        parts = data.split(maxsplit=4)
        width, height, maxval = int(parts[1]), int(parts[2]), int(parts[3])
        pixels = np.frombuffer(parts[4][: width * height], dtype=np.uint8)
    elif data[:2] == b"P2":
        tokens = [t for line in data.decode("ascii").splitlines() for t in line.split("#")[0].split()]
        width, height, maxval = int(tokens[1]), int(tokens[2]), int(tokens[3])
        pixels = np.array([int(t) for t in tokens[4 : 4 + width * height]], dtype=np.float64)
    else:
        raise ValueError("not a PGM image (expected a P2 or P5 header)")
    if pixels.size != width * height:
        raise ValueError(f"truncated PGM image: {pixels.size} of {width * height} pixels")
    return pixels.reshape(height, width).astype(np.float64) / float(maxval)


def label_of(path: str) -> int:
    """The class index from a file path: its parent directory names the class (e.g. /data/circle/007.pgm)."""
    parent = os.path.basename(os.path.dirname(path))
    if parent not in CLASSES:
        raise ValueError(f"{path}: parent directory must be one of {', '.join(CLASSES)}")
    return CLASSES.index(parent)


def to_features(X) -> np.ndarray:
    """Accepts one image (16x16), a batch of images (Nx16x16) or flat rows (Nx256); returns Nx256."""
    x = np.asarray(X, dtype=np.float64)
    if x.shape == (IMAGE_SIZE, IMAGE_SIZE):
        x = x[None, :, :]
    if x.ndim == 3 and x.shape[1:] == (IMAGE_SIZE, IMAGE_SIZE):
        x = x.reshape(x.shape[0], -1)
    if x.ndim != 2 or x.shape[1] != IMAGE_SIZE * IMAGE_SIZE:
        raise ValueError(
            f"expected a {IMAGE_SIZE}x{IMAGE_SIZE} image, a batch of them or rows of {IMAGE_SIZE * IMAGE_SIZE} pixels; got shape {x.shape}"
        )
    return np.stack([center(row.reshape(IMAGE_SIZE, IMAGE_SIZE)).reshape(-1) for row in x]) if len(x) else x


def center(img: np.ndarray) -> np.ndarray:
    """Shifts the shape's bright mass to the middle: the tiny model then need not learn positions."""
    mass = np.where(img > 0.4, img, 0.0)
    if mass.sum() == 0:
        return img
    ys, xs = np.indices(img.shape)
    cy, cx = (ys * mass).sum() / mass.sum(), (xs * mass).sum() / mass.sum()
    mid = (IMAGE_SIZE - 1) / 2.0
    return np.roll(img, (int(round(mid - cy)), int(round(mid - cx))), axis=(0, 1))


class ShapesModel:
    """256 -> hidden (ReLU) -> len(CLASSES) softmax, trained with SGD + momentum."""

    def __init__(self, hidden: int = 32, seed: int = 0):
        rng = np.random.default_rng(seed)
        n_in, n_out = IMAGE_SIZE * IMAGE_SIZE, len(CLASSES)
        self.params: Dict[str, np.ndarray] = {
            "w1": rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, hidden)),
            "b1": np.zeros(hidden),
            "w2": rng.normal(0.0, np.sqrt(1.0 / hidden), (hidden, n_out)),
            "b2": np.zeros(n_out),
        }
        # Momentum buffers are part of the checkpoint so that continued training resumes smoothly.
        self.velocity = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.batches_trained = 0

    def _forward(self, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        h = np.maximum(0.0, x @ self.params["w1"] + self.params["b1"])
        logits = h @ self.params["w2"] + self.params["b2"]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return h, p / p.sum(axis=1, keepdims=True)

    def predict_proba(self, X) -> np.ndarray:
        return self._forward(to_features(X))[1]

    def train_batch(self, x: np.ndarray, y: np.ndarray, lr: float, momentum: float, weight_decay: float) -> float:
        """One SGD step on a batch; returns the batch's cross-entropy loss."""
        h, p = self._forward(x)
        n = x.shape[0]
        loss = float(-np.log(p[np.arange(n), y] + 1e-12).mean())
        d_logits = p.copy()
        d_logits[np.arange(n), y] -= 1.0
        d_logits /= n
        grads = {"w2": h.T @ d_logits, "b2": d_logits.sum(axis=0)}
        d_h = (d_logits @ self.params["w2"].T) * (h > 0)
        grads["w1"] = x.T @ d_h
        grads["b1"] = d_h.sum(axis=0)
        for k, g in grads.items():
            if k.startswith("w"):
                g = g + weight_decay * self.params[k]
            self.velocity[k] = momentum * self.velocity[k] - lr * g
            self.params[k] += self.velocity[k]
        self.batches_trained += 1
        return loss

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> Dict[str, float]:
        _, p = self._forward(x)
        n = x.shape[0]
        return {
            "validation_loss": float(-np.log(p[np.arange(n), y] + 1e-12).mean()),
            "accuracy": float((p.argmax(axis=1) == y).mean()),
        }

    def save(self, directory: str, extra: Dict) -> None:
        """Writes weights.npz and model.json (format, classes, input shape, provenance)."""
        arrays = {**self.params, **{"v_" + k: v for k, v in self.velocity.items()}}
        np.savez(os.path.join(directory, WEIGHTS_FILE), **arrays)
        info = {
            "format": FORMAT,
            "classes": list(CLASSES),
            "input_shape": [IMAGE_SIZE, IMAGE_SIZE],
            "batches_trained": self.batches_trained,
            **extra,
        }
        with open(os.path.join(directory, MODEL_FILE), "w") as f:
            json.dump(info, f, indent=2, sort_keys=True)

    @classmethod
    def load(cls, directory: str) -> "ShapesModel":
        with open(os.path.join(directory, MODEL_FILE)) as f:
            info = json.load(f)
        if info.get("format") != FORMAT or info.get("classes") != list(CLASSES):
            raise ValueError(f"{directory}: not a {FORMAT} checkpoint for classes {list(CLASSES)}")
        model = cls(hidden=1)
        with np.load(os.path.join(directory, WEIGHTS_FILE)) as arrays:
            model.params = {k: arrays[k].copy() for k in ("w1", "b1", "w2", "b2")}
            model.velocity = {k: arrays["v_" + k].copy() for k in ("w1", "b1", "w2", "b2")}
        model.batches_trained = int(info.get("batches_trained", 0))
        return model


class Predictor:
    """What the serving image calls: predict(X) -> class probabilities, with class_names."""

    def __init__(self, model: ShapesModel):
        self.model = model
        self.class_names: List[str] = list(CLASSES)

    def predict(self, X) -> np.ndarray:
        return self.model.predict_proba(X)


def load_predictor(checkpoint_dir: str) -> Predictor:
    """Entry point named in model.json ("predictor"), used by serving/ModelServer.py."""
    return Predictor(ShapesModel.load(checkpoint_dir))

