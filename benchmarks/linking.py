"""Entity-linking benchmark: the behaviour-modelling ablation on the embedded set's test
split, the ambiguous mentions, linking speed, and a 400k-entity KB's load cost.

Run (heavy: take the shared lock):

    flock /tmp/kexue-heavy.lock env KERAS_BACKEND=jax .venv/bin/python benchmarks/linking.py \
        --seeds 0 --runs /tmp/lkbench

Cells are cached in ``benchmarks/results/linking-cells.json`` and skipped when present
(delete a key to redo it); a seed's run directory ``RUNS/seedN`` is reused when complete.
Writes ``benchmarks/results/linking.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CELLS = HERE / "results" / "linking-cells.json"
REPORT = HERE / "results" / "linking.md"


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _save(cells: dict, path: Path) -> None:
    from kexue._io import atomic_write

    path.parent.mkdir(exist_ok=True)
    with atomic_write(path) as handle:
        json.dump(cells, handle, ensure_ascii=False, indent=1)


def _triples(texts) -> dict:
    return {t.text_id: [(m.mention, m.offset, m.kb_id) for m in t.mentions] for t in texts}


def dictionary_cells(data, dictionary) -> dict:
    from kexue.metrics.linking import linking_scores, mention_scores

    test = data.splits["test"]
    gold = _triples(test)
    out = {}
    for stage in ("dictionary", "pruned", "restricted"):
        pred = _triples(dictionary.link_by_frequency(test, stage))
        out[stage] = {"mention": mention_scores(pred, gold).as_dict(),
                      "link": linking_scores(pred, gold).as_dict(),
                      "link_strict_nil": linking_scores(pred, gold, nil="strict").as_dict(),
                      "recall_cap": dictionary.recall_cap(test, stage)}
    out["pruned_aliases"] = len(dictionary.pruned)
    return out


def ambiguous_mentions(data) -> list[tuple[object, object]]:
    """Dev and test gold mentions with a KB entity whose string names several entities
    (both splits are held out; the test split alone has 13)."""
    out = []
    for text in data.splits["dev"] + data.splits["test"]:
        for m in text.mentions:
            if m.kb_id != "NIL" and len(data.kb.ids_for(m.mention)) > 1:
                out.append((text, m))
    return out


def network_cell(data, dictionary, run_dir: Path, seed: int) -> dict:
    from kexue.metrics.linking import linking_accuracy, linking_scores, mention_scores
    from kexue.tasks.linking.data import Text
    from kexue.tasks.linking.decode import EntityLinker
    from kexue.tasks.linking.train import TrainSettings, train

    train_seconds = None
    if not (run_dir / "best.keras").exists() or not (run_dir / "metrics.json").exists():
        start = time.perf_counter()
        train(data.kb, data.splits["train"], data.splits["dev"], run_dir,
              TrainSettings(seed=seed), overwrite=True, verbose=2)
        train_seconds = time.perf_counter() - start
    linker = EntityLinker.from_run(run_dir)
    test = data.splits["test"]
    gold = _triples(test)
    start = time.perf_counter()
    predicted = linker.link_texts(test)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    predicted = linker.link_texts(test)
    warm = time.perf_counter() - start
    pred = _triples(predicted)
    given = _triples(linker.link_gold_mentions(test))
    ambiguous = ambiguous_mentions(data)
    texts = [Text(t.text_id, t.text, [m]) for t, m in ambiguous]
    network = linker.link_gold_mentions(texts)
    network_right = sum(bool(t.mentions) and t.mentions[0].kb_id == m.kb_id
                        for t, (_, m) in zip(network, ambiguous, strict=True))
    frequent_right = sum(dictionary.most_frequent(m.mention, "pruned") == m.kb_id
                         for _, m in ambiguous)
    run_metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    return {"seed": seed, "train_seconds": train_seconds, "run": run_metrics,
            "mention": mention_scores(pred, gold).as_dict(),
            "link": linking_scores(pred, gold).as_dict(),
            "link_strict_nil": linking_scores(pred, gold, nil="strict").as_dict(),
            "accuracy_given_gold": linking_accuracy(given, gold),
            "recall_cap": linker.dictionary.recall_cap(test),
            "texts": len(test), "seconds_cold": cold, "seconds_warm": warm,
            "ambiguous": len(ambiguous), "ambiguous_network_right": network_right,
            "ambiguous_frequent_right": frequent_right}


def kb_cell(entities: int, folder: Path) -> dict:
    """Generate a KB of ``entities`` entities, then time reading it and building its matcher
    in a fresh process (peak RSS measured there)."""
    path = folder / f"kb_{entities}.json"
    if not path.exists():
        rng = random.Random(0)
        alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
        with open(path, "w", encoding="utf-8") as handle:
            for i in range(entities):
                name = "".join(rng.choices(alphabet, k=rng.randint(2, 6)))
                row = {"subject_id": str(10000 + i), "subject": name,
                       "alias": [name, name[:2]], "type": ["Thing"],
                       "data": [{"predicate": "摘要", "object": "".join(rng.choices(
                           alphabet, k=rng.randint(20, 80)))},
                           {"predicate": "类型", "object": "事物"}]}
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    code = (
        "import time, resource, sys\n"
        "from kexue.tasks.linking.data import read_kb\n"
        "from kexue.tasks.linking.candidates import AliasMatcher\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS'):\n"
        "            return int(line.split()[1])\n"
        "base = rss()\n"
        "t = time.perf_counter(); kb, _ = read_kb(sys.argv[1]); load = time.perf_counter() - t\n"
        "t = time.perf_counter(); m = AliasMatcher(kb.alias_index);"
        " build = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(len(kb), len(kb.alias_index), load, build, base / 1024, peak / 1024,"
        " rss() / 1024)\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, check=True).stdout.split()
    n, aliases, load, build, base, peak, after = out
    return {"entities": int(n), "aliases": int(aliases), "file_mb": path.stat().st_size / 2**20,
            "load_seconds": float(load), "matcher_seconds": float(build),
            "rss_before_mb": float(base), "rss_peak_mb": float(peak),
            "rss_after_mb": float(after)}


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def write_report(cells: dict, stats: dict, command: str, report: Path) -> None:
    lines = ["# Entity linking benchmark (embedded People's Daily set)", "",
             f"Command: `{command}`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared with other "
             f"jobs), Python {platform.python_version()}, Keras backend "
             f"{os.environ.get('KERAS_BACKEND', 'jax')}. Date: {time.strftime('%Y-%m-%d')}.",
             "", f"Test split: {stats['texts']['test']} texts, {stats['mentions']['test']} "
             "gold mentions, of which the NIL and unresolved ones are ignored (the default; "
             "the last column counts them, `--nil strict`).", "",
             "## Ablation (micro P / R / F1 on the test split)", "",
             "| system | mention P | mention R | mention F1 | link P | link R | link F1 | "
             "recall cap | F1, --nil strict |", "|---|---|---|---|---|---|---|---|---|"]
    d = cells.get("dictionary", {})
    names = {"dictionary": "dictionary max-match alone", "pruned": "+ pruning (threshold 5)",
             "restricted": "+ candidate restriction (N = 2)"}
    for stage, label in names.items():
        if stage in d:
            c = d[stage]
            lines.append(
                f"| {label} | {c['mention']['precision']:.4f} | {c['mention']['recall']:.4f} | "
                f"{c['mention']['f1']:.4f} | {c['link']['precision']:.4f} | "
                f"{c['link']['recall']:.4f} | {c['link']['f1']:.4f} | {c['recall_cap']:.4f} | "
                f"{c['link_strict_nil']['f1']:.4f} |")
    nets = [v for k, v in sorted(cells.items()) if k.startswith("network_seed")]
    if nets:
        def col(*keys):
            values = []
            for n in nets:
                v = n
                for k in keys:
                    v = v[k]
                values.append(v)
            return _mean_std(values)
        lines.append(
            f"| + network ({len(nets)} seed{'s' if len(nets) > 1 else ''}: "
            f"{', '.join(str(n['seed']) for n in nets)}) | {col('mention', 'precision')} | "
            f"{col('mention', 'recall')} | {col('mention', 'f1')} | {col('link', 'precision')} "
            f"| {col('link', 'recall')} | {col('link', 'f1')} | {col('recall_cap')} | "
            f"{col('link_strict_nil', 'f1')} |")
        lines += ["", "## Ambiguous mentions and linking given gold mentions", "",
                  "| seed | ambiguous dev + test mentions (resolved gold) | most-frequent entity "
                  "right | network right | linking accuracy given all gold mentions |",
                  "|---|---|---|---|---|"]
        for n in nets:
            lines.append(f"| {n['seed']} | {n['ambiguous']} | {n['ambiguous_frequent_right']} "
                         f"| {n['ambiguous_network_right']} | {n['accuracy_given_gold']:.4f} |")
        lines += ["", "## Training and speed", "",
                  "| seed | epochs | steps/epoch | best dev F1 (epoch) | training s | link "
                  "test split, s (first call, incl. compile) | s (warm) | texts/s (warm) |",
                  "|---|---|---|---|---|---|---|---|"]
        for n in nets:
            r = n["run"]
            train_s = f"{n['train_seconds']:.0f}" if n["train_seconds"] else "(see notes)"
            lines.append(f"| {n['seed']} | {r['epochs']} | {r['steps_per_epoch']} | "
                         f"{r['best_dev_f1']:.4f} ({r['best_epoch']}) | {train_s} | "
                         f"{n['seconds_cold']:.1f} | {n['seconds_warm']:.1f} | "
                         f"{n['texts'] / n['seconds_warm']:.0f} |")
    if "kb_400k" in cells:
        k = cells["kb_400k"]
        lines += ["", "## A 400k-entity KB (generated: random 2–6 character names, 2 aliases, a "
                  "20–80 character summary)", "",
                  f"{k['entities']:,} entities, {k['aliases']:,} distinct aliases, "
                  f"{k['file_mb']:.0f} MB of JSON lines: `read_kb` {k['load_seconds']:.1f} s, "
                  f"Aho–Corasick automaton {k['matcher_seconds']:.1f} s; resident memory "
                  f"{k['rss_before_mb']:.0f} MB before loading, {k['rss_after_mb']:.0f} MB "
                  f"with the KB and automaton (+{k['rss_after_mb'] - k['rss_before_mb']:.0f} "
                  f"MB, VmRSS of a fresh process)."]
    lines += ["", "## Notes", ""] + cells.get("notes", [])
    from kexue._io import atomic_write

    with atomic_write(report) as handle:
        handle.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--runs", type=Path, default=Path("/tmp/lkbench"))
    parser.add_argument("--kb-entities", type=int, default=400_000)
    parser.add_argument("--skip-kb", action="store_true")
    parser.add_argument("--cells", type=Path, default=CELLS, help="cell cache (JSON)")
    parser.add_argument("--report", type=Path, default=REPORT, help="Markdown output")
    args = parser.parse_args()
    from kexue.tasks.linking.candidates import CandidateDictionary
    from kexue.tasks.linking.data import build_embedded_set

    cells = _load(args.cells)
    data = build_embedded_set()
    dictionary = CandidateDictionary.fit(data.kb, data.splits["train"])
    if "dictionary" not in cells:
        cells["dictionary"] = dictionary_cells(data, dictionary)
        _save(cells, args.cells)
    args.runs.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        key = f"network_seed{seed}"
        if key not in cells:
            cells[key] = network_cell(data, dictionary, args.runs / f"seed{seed}", seed)
            _save(cells, args.cells)
            gc.collect()
    if not args.skip_kb and "kb_400k" not in cells:
        cells["kb_400k"] = kb_cell(args.kb_entities, args.runs)
        _save(cells, args.cells)
    command = "flock /tmp/kexue-heavy.lock env KERAS_BACKEND=jax .venv/bin/python " \
              "benchmarks/linking.py " + " ".join(sys.argv[1:])
    write_report(cells, data.stats, command, args.report)
    print(args.report.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
