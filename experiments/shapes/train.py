#!/usr/bin/env python3
"""The experiment's entrypoint (`python3 train.py`): train the shapes classifier on the files that
the input commit added or changed, continuing from the source checkpoint when there is one.

Exit status: 0 with a checkpoint written; non-zero on any error, including a commit without new
files (NoNewDataError), so that an empty commit never passes as a trained model.
"""

import os
import shutil
import sys
import tempfile
from typing import Dict, List, Tuple

import numpy as np

import ct_context
import shapes_model
from pachyderm_data import NoNewDataError, download_new_files
from shapes_model import ShapesModel

HERE = os.path.dirname(os.path.abspath(__file__))


def max_batches(config: Dict) -> int:
    """searcher.max_length, as {batches: N} or a bare integer; the length of this training run."""
    length = (config.get("searcher") or {}).get("max_length") or 100
    if isinstance(length, dict):
        if "batches" not in length:
            raise ValueError("searcher.max_length must be given in batches")
        length = length["batches"]
    return int(length)


def load_examples(
    root: str, paths: List[str], skip_unreadable: bool = True
) -> Tuple[np.ndarray, np.ndarray, List[str], List[Dict[str, str]]]:
    """The images and labels of the readable files; an unreadable one (empty, truncated, not a PGM) is
    skipped and reported rather than failing the trial: one bad file must not block every later training.
    With skip_unreadable false (hyperparameter) it fails the trial instead."""
    images, labels, used, skipped = [], [], [], []
    for p in sorted(paths):
        if not p.endswith(".pgm"):
            print(f"skipping {p}: not a .pgm image")
            continue
        try:
            with open(root + p, "rb") as f:
                image = shapes_model.read_pgm(f.read())
            label = shapes_model.label_of(p)
        except (ValueError, IndexError, KeyError, UnicodeDecodeError) as e:
            if not skip_unreadable:
                raise ValueError(f"unreadable file {p}: {e} (skip_unreadable is false)") from e
            print(f"skipping unreadable {p}: {e}", file=sys.stderr)
            skipped.append({"path": p, "error": str(e) or type(e).__name__})
            continue
        images.append(image)
        labels.append(label)
        used.append(p)
    if not used:
        raise NoNewDataError(f"none of the new or updated files is a readable .pgm image ({len(skipped)} unreadable)")
    # The same features as at serving time (to_features centers each shape).
    return shapes_model.to_features(np.stack(images)), np.array(labels, dtype=np.int64), used, skipped


def split(n: int) -> Tuple[np.ndarray, np.ndarray]:
    """Every fifth example (in path order) validates; tiny deltas validate on their training set."""
    idx = np.arange(n)
    val = idx[idx % 5 == 4]
    train = idx[idx % 5 != 4]
    if len(val) == 0 or len(train) == 0:
        return idx, idx
    return train, val


def train(ctx: ct_context.TrainContext, data_dir: str) -> Dict[str, float]:
    hp = ctx.hparams
    pach = (ctx.data_config or {}).get("pachyderm") or {}
    paths = download_new_files(pach, data_dir)
    x, y, used, skipped = load_examples(data_dir, paths, skip_unreadable=hp.get("skip_unreadable", True) is not False)
    if skipped:
        print(f"{len(skipped)} unreadable files skipped (listed in the checkpoint's model.json)", file=sys.stderr)
    train_idx, val_idx = split(len(used))

    with ctx.source_checkpoint() as source:
        if source:
            model = ShapesModel.load(source)
            print(f"continuing from the source checkpoint ({model.batches_trained} batches trained before)")
        else:
            model = ShapesModel(hidden=int(hp.get("hidden_units", 32)), seed=int(hp.get("seed", 0)))
            print("starting from scratch (no source checkpoint)")
    continued = bool(source)

    batches = max_batches(ctx.config)
    batch_size = int(hp.get("global_batch_size", 8))
    lr, momentum, wd = float(hp["learning_rate"]), float(hp.get("momentum", 0.9)), float(hp.get("weight_decay", 1e-4))
    rng = np.random.default_rng(int(hp.get("seed", 0)) + model.batches_trained)
    report_every = max(1, batches // 5)
    order, pos, losses = rng.permutation(train_idx), 0, []
    for step in range(1, batches + 1):
        if pos + batch_size > len(order):  # new epoch: reshuffle
            order, pos = rng.permutation(train_idx), 0
        b = order[pos : pos + batch_size]
        pos += batch_size
        losses.append(model.train_batch(x[b], y[b], lr, momentum, wd))
        if step % report_every == 0 or step == batches:
            ctx.report_training(step, {"loss": float(np.mean(losses))})
            losses = []

    metrics = model.evaluate(x[val_idx], y[val_idx])
    print(f"validation after {batches} batches on {len(val_idx)} examples: {metrics}")
    ctx.report_validation(batches, metrics)

    with ctx.store_checkpoint(batches) as ckpt_dir:
        model.save(
            ckpt_dir,
            {
                "predictor": "code/shapes_model.py:load_predictor",
                "continued": continued,
                "trained_on": {
                    "project": pach.get("project") or "default",
                    "repo": pach.get("repo"),
                    "commit": pach.get("commit") or pach.get("branch"),
                    "base_commit": pach.get("base_commit") or None,
                    "files": len(used),
                    "skipped": skipped,
                },
                "validation": metrics,
            },
        )
        # The code that reads these weights travels with them (see serving/ModelServer.py).
        os.makedirs(os.path.join(ckpt_dir, "code"), exist_ok=True)
        shutil.copy(os.path.join(HERE, "shapes_model.py"), os.path.join(ckpt_dir, "code", "shapes_model.py"))
    return metrics


def main() -> int:
    data_dir = tempfile.mkdtemp(prefix="shapes-data-")
    try:
        with ct_context.init() as ctx:
            train(ctx, data_dir)
        return 0
    except NoNewDataError as e:
        print(f"ERROR: no new data: {e}", file=sys.stderr)
        return 3
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
