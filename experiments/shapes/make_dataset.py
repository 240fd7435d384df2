#!/usr/bin/env python3
"""Writes the demo dataset, deterministically: 16x16 grayscale PGM images of shapes.

  make_dataset.py --batch 1 --out DIR   first arrival: circles and squares under data/<class>/
  make_dataset.py --batch 2 --out DIR   later delta: triangles (a class batch 1 never showed),
                                        more circles and squares under delta/<class>/, and two
                                        re-scanned batch-1 files (same paths, new pixels)
  make_dataset.py --probe triangle      prints a Seldon request body with one fresh image

Only the files a batch adds or changes are written, so `DIR` can be put into the Pachyderm
repo as one commit. The model trained on batch 1 cannot know triangles; continued training
on batch 2 teaches them, which the demo shows with a triangle probe.
Uses Python's own `random` (its sequences are stable across versions) and no third-party code.
"""

import argparse
import json
import os
import random
from typing import List

SIZE = 16


def draw(shape: str, rng: random.Random) -> List[List[int]]:
    """A filled shape of random size and position on a dark, noisy background (0..255)."""
    r = rng.uniform(3.5, 6.0)
    cx = rng.uniform(r + 0.5, SIZE - 1.5 - r)
    cy = rng.uniform(r + 0.5, SIZE - 1.5 - r)
    fg = rng.uniform(0.75, 1.0)
    rows = []
    for y in range(SIZE):
        row = []
        for x in range(SIZE):
            dx, dy = x - cx, y - cy
            if shape == "circle":
                inside = dx * dx + dy * dy <= r * r
            elif shape == "square":
                inside = abs(dx) <= r * 0.85 and abs(dy) <= r * 0.85
            elif shape == "triangle":
                # Apex at the top: the half-width grows from 0 at cy-r to r at cy+r.
                inside = -r <= dy <= r and abs(dx) <= (dy + r) / 2.0
            else:
                raise ValueError(shape)
            v = (fg if inside else 0.05) + rng.gauss(0.0, 0.08)
            row.append(max(0, min(255, int(round(v * 255)))))
        rows.append(row)
    return rows


def to_pgm(pixels: List[List[int]]) -> str:
    lines = ["P2", f"{SIZE} {SIZE}", "255"] + [" ".join(str(v) for v in row) for row in pixels]
    return "\n".join(lines) + "\n"


def write(out: str, rel: str, pixels: List[List[int]]) -> None:
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(to_pgm(pixels))


def batch1(out: str) -> None:
    rng = random.Random(1)
    for shape in ("circle", "square"):
        for i in range(12):
            write(out, f"data/{shape}/{i:03d}.pgm", draw(shape, rng))


def batch2(out: str) -> None:
    rng = random.Random(2)
    for shape in ("circle", "square", "triangle"):
        for i in range(12):
            write(out, f"delta/{shape}/{i:03d}.pgm", draw(shape, rng))
    # Updated files: same paths as in batch 1, new content (Pachyderm's diff reports them as modified).
    write(out, "data/circle/000.pgm", draw("circle", rng))
    write(out, "data/square/000.pgm", draw("square", rng))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, choices=(1, 2))
    ap.add_argument("--out", help="directory to write the batch's files into")
    ap.add_argument("--probe", choices=("circle", "square", "triangle"))
    ap.add_argument("--seed", type=int, default=99, help="seed of the probe image")
    args = ap.parse_args()
    if args.probe:
        pixels = draw(args.probe, random.Random(args.seed))
        print(json.dumps({"data": {"ndarray": [[[v / 255 for v in row] for row in pixels]]}}))
        return
    if not args.batch or not args.out:
        ap.error("--batch and --out are required (or --probe)")
    (batch1 if args.batch == 1 else batch2)(args.out)


if __name__ == "__main__":
    main()
