"""The int8 encoder against the float32 one: speed on the same sentences, and how alike the vectors
and their nearest neighbours are.

    .venv/bin/python benchmarks/encoder_precision.py --data ../shared/data/keps-dev.bench.jsonl \
        --documents 40 --texts 3000

Prints one JSON object: texts per second (wall and CPU) for each precision, the speed-up, the
cosine of each text's two vectors (mean, 1st percentile, minimum) and the share of each text's 10
nearest neighbours (among all the texts) that both agree on. The benchmark figures that decide
whether int8 may be the default come from `impacting eval` with IMPACTING_EMBEDDING_PRECISION=int8
(docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from impacting.evaluation import load_records
from impacting.language.chunking import chunk_document
from impacting.language.encoder import FLOAT32, INT8, Encoder
from impacting.language.vectors import prose_chunks


def sentences(path: Path, documents: int, texts: int, seed: int = 0) -> list[str]:
    records = load_records(path)
    random.Random(seed).shuffle(records)
    out: list[str] = []
    for record in records[:documents]:
        out += [c.text for c in prose_chunks(chunk_document(record["key"], record["text"]))]
    return out[:texts]


def timed(encoder: Encoder, texts: list[str]) -> tuple[np.ndarray, dict]:
    encoder.encode(texts[:64])   # load and warm up
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = encoder.encode(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return vectors, {"seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
                     "texts_per_second": round(len(texts) / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--texts", type=int, default=3000)
    args = parser.parse_args()
    texts = sentences(args.data, args.documents, args.texts)
    full, full_figures = timed(Encoder(precision=FLOAT32), texts)
    small, small_figures = timed(Encoder(precision=INT8), texts)
    cosine = np.sum(full * small, axis=1)
    queries = min(500, len(texts))
    near_full = np.argsort(-(full[:queries] @ full.T), axis=1)[:, 1:11]
    near_small = np.argsort(-(small[:queries] @ small.T), axis=1)[:, 1:11]
    agreement = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(near_full, near_small, strict=True)])
    print(json.dumps({
        "texts": len(texts), "float32": full_figures, "int8": small_figures,
        "speed_up": round(full_figures["seconds"] / small_figures["seconds"], 2),
        "cosine": {"mean": round(float(cosine.mean()), 4), "p01": round(float(np.quantile(cosine, 0.01)), 4),
                   "min": round(float(cosine.min()), 4)},
        "top10_neighbour_agreement": round(float(agreement), 4),
    }, indent=1))


if __name__ == "__main__":
    main()
