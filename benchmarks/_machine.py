"""Machine facts every benchmark writes into its results table."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


RESULTS = Path(__file__).parent / "results"


def write_results(name: str, lines: list[str]) -> str:
    """Write ``lines`` (a Markdown table and its notes) to ``benchmarks/results/<name>``
    atomically, UTF-8; returns the text written."""
    from kexue._io import atomic_write

    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    with atomic_write(RESULTS / name, mode="w", encoding="utf-8") as handle:
        handle.write(text)
    return text
