"""Recall and precision of the personal-data detector (shared/pii.py) per kind.

    .venv/bin/python bench/pii.py

Runs on the labelled synthetic set of tests/pii_corpus.py (deterministic seed), with the first
pattern-only version of the detector (e-mail, phone and 16 digits by pattern alone) as the
baseline in the same run. A find counts when it has the label's kind and overlaps it; each
label is counted once. Needs no servers. The last line is one JSON object of the figures.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared import pii
from tests.pii_corpus import Label, Sample, corpus

_BASELINE = {
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    "nik": re.compile(r"(?<!\d)\d{16}(?!\d)"),
    "phone": re.compile(r"(?<![\w+])(?:\+62|62|0)8\d{1,3}[\s.-]?\d{3,4}[\s.-]?\d{3,5}(?!\d)"),
}


def baseline(text: str) -> list[pii.Found]:
    """The first pattern-only version (the contract's first commit), as it was."""
    found = sorted(
        (
            pii.Found(kind, m.start(), m.end(), m.group())
            for kind, p in _BASELINE.items()
            for m in p.finditer(text)
        ),
        key=lambda item: (item.start, -item.end),
    )
    kept: list[pii.Found] = []
    for item in found:
        if not kept or item.start >= kept[-1].end:
            kept.append(item)
    return kept


def scores(
    samples: Iterable[Sample], detector: Callable[[str], list[pii.Found]]
) -> dict[str, dict[str, float | None]]:
    """Per kind: recall, precision, and the counts behind them."""
    counts = {kind: {"labels": 0, "found": 0, "hits": 0, "correct": 0} for kind in pii.KINDS}
    for sample in samples:
        found = detector(sample.text)
        for label in sample.labels:
            counts[label.kind]["labels"] += 1
            if any(_overlaps(f, label) and f.kind == label.kind for f in found):
                counts[label.kind]["hits"] += 1
        for f in found:
            counts[f.kind]["found"] += 1
            if any(_overlaps(f, label) and f.kind == label.kind for label in sample.labels):
                counts[f.kind]["correct"] += 1
    result: dict[str, dict[str, float | None]] = {
        kind: {
            "recall_ratio": round(c["hits"] / c["labels"], 4) if c["labels"] else 1.0,
            "precision_ratio": round(c["correct"] / c["found"], 4) if c["found"] else None,
            "labels": c["labels"],
            "found": c["found"],
        }
        for kind, c in counts.items()
    }
    return result


def _overlaps(found: pii.Found, label: Label) -> bool:
    return found.start < label.end and label.start < found.end


def main() -> None:
    samples = corpus()
    started = time.perf_counter()
    ours = scores(samples, pii.find)
    seconds = time.perf_counter() - started
    before = scores(samples, baseline)
    for kind in pii.KINDS:
        o, b = ours[kind], before[kind]
        print(
            f"{kind:8} labels {o['labels']}  recall {o['recall_ratio']} "
            f"(baseline {b['recall_ratio']})  precision {o['precision_ratio']} "
            f"(baseline {b['precision_ratio']})"
        )
    figures: dict[str, object] = {"texts": len(samples)}
    for kind in pii.KINDS:
        for name in ("recall_ratio", "precision_ratio"):
            figures[f"{kind}_{name}"] = ours[kind][name]
            figures[f"baseline_{kind}_{name}"] = before[kind][name]
    figures["ms_per_text"] = round(1000 * seconds / len(samples), 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
