"""Intent accuracy of the trained model on the held-out examples.

Usage: python scripts/nlu_eval.py [--holdout tests/nlu_holdout.yml]
                                  [--model models/bot.tar.gz] [--threshold 0.85]
Prints accuracy per language and overall, per-intent recall and the confusions,
checks that no held-out sentence is also a training sentence, and exits 1 when
accuracy is below the threshold. Writes results/nlu_eval.json.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))  # custom components
os.chdir(HERE)

_CJK = re.compile(r"[\u4e00-\u9fff]")
_ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs from a Rasa NLU YAML file, annotations removed."""
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for item in doc.get("nlu", []):
        if "intent" not in item:
            continue
        for line in str(item.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- "):
                out.append((_ANNOTATION.sub(r"\1", line[2:]).strip(), item["intent"]))
    return out


def training_texts() -> set[str]:
    texts = set()
    for path in sorted((HERE / "data" / "nlu").glob("*.yml")):
        texts.update(t.lower() for t, _ in load_examples(path))
    return texts


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--holdout", action="append",
                    help="held-out NLU file (repeatable); default tests/nlu_holdout.yml")
    ap.add_argument("--model", default="models/bot.tar.gz")
    ap.add_argument("--threshold", type=float, default=0.85)
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)

    holdouts = args.holdout or ["tests/nlu_holdout.yml"]
    examples = []
    source = []
    for path in holdouts:
        for ex in load_examples(HERE / path):
            examples.append(ex)
            source.append(path)
    leaked = [t for t, _ in examples if t.lower() in training_texts()]
    if leaked:
        print(f"held-out examples also in training data: {leaked}")
        return 1

    from rasa.core.agent import Agent

    agent = Agent.load(args.model)
    rows = []
    start = time.perf_counter()
    for (text, gold), path in zip(examples, source, strict=True):
        parsed = await agent.parse_message(text)
        intent = (parsed.get("intent") or {}).get("name")
        conf = (parsed.get("intent") or {}).get("confidence") or 0.0
        rows.append({"text": text, "gold": gold, "predicted": intent, "confidence": round(conf, 3),
                     "lang": "zh" if _CJK.search(text) else "en", "file": path})
    elapsed = time.perf_counter() - start

    def acc(subset):
        return sum(r["gold"] == r["predicted"] for r in subset) / max(1, len(subset))

    overall = acc(rows)
    print(f"held-out examples: {len(rows)}")
    for path in holdouts:
        sub = [r for r in rows if r["file"] == path]
        print(f"  {path}: {acc(sub):.3f} on {len(sub)}")
    for lang in ("zh", "en"):
        sub = [r for r in rows if r["lang"] == lang]
        print(f"  {lang}: {acc(sub):.3f} on {len(sub)}")
    print(f"intent accuracy: {overall:.3f}  (threshold {args.threshold})")
    print(f"mean parse time: {1000 * elapsed / max(1, len(rows)):.1f} ms")

    per_intent = collections.defaultdict(lambda: [0, 0])
    for r in rows:
        per_intent[r["gold"]][1] += 1
        per_intent[r["gold"]][0] += r["gold"] == r["predicted"]
    weak = {k: v for k, v in per_intent.items() if v[0] < v[1]}
    if weak:
        print("intents below 100% recall:")
        for k, (ok, n) in sorted(weak.items(), key=lambda kv: kv[1][0] / kv[1][1]):
            print(f"  {k:26s} {ok}/{n}")
    confusions = collections.Counter((r["gold"], r["predicted"]) for r in rows if r["gold"] != r["predicted"])
    print("confusions (gold -> predicted: count):" if confusions else "confusions: none")
    for (gold, pred), n in confusions.most_common():
        print(f"  {gold} -> {pred}: {n}")
    for r in rows:
        if r["gold"] != r["predicted"]:
            print(f"    [{r['gold']} -> {r['predicted']} {r['confidence']}] {r['text']}")

    # Bad input must parse to something (the dialogue then answers sensibly).
    bad_inputs = ["", "   ", "😀😀😀", "契税" * 2500, "how much is the deed tax? " * 200,
                  "我想check一下ZT2026000001的status", "I want 水电气过户 please", "🙏", "/affirm"]
    print("bad input:")
    for text in bad_inputs:
        t0 = time.perf_counter()
        parsed = await agent.parse_message(text)
        intent = (parsed.get("intent") or {}).get("name")
        print(f"  {text[:24]!r:30s} len={len(text):5d} -> {intent} ({1000 * (time.perf_counter() - t0):.0f} ms)")

    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "nlu_eval.json").write_text(json.dumps(
        {"accuracy": overall, "n": len(rows), "threshold": args.threshold, "rows": rows},
        ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if overall >= args.threshold else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
