"""Time each example's default run on every CPU backend, as the README's examples table reports.

Each run is a fresh process (startup and imports included), timed in wall seconds and in CPU
seconds (user + system, children included); the rounds are interleaved, so the backends share
whatever else the machine is doing, and the table gives each one's median and its ratio to
numpy's. Thread settings are the examples' own defaults (``examples/cli.py``) unless the
environment sets them.

    python benchmarks/examples_time.py                 # every example, 3 rounds
    python benchmarks/examples_time.py --only digits --rounds 1
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("numpy", "strict", "torch")
EXAMPLES = {
    "demo.py": [],
    "scalar.py": [],
    "graph.py": [],
    "spiral.py": [],
    "digits.py": [],
    "digits.py --model cnn": ["--model", "cnn"],
}


def _run(script: str, args: list[str], backend: str, out: str) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``examples/<script>``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    cmd = [sys.executable, str(ROOT / "examples" / script), *args, "--backend", backend]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # run in a scratch folder: the examples write their pictures into ./runs by default
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=out)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="run only examples whose name contains this")
    opts = parser.parse_args()
    cases = {name: args for name, args in EXAMPLES.items() if opts.only in name}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as out:
        for _ in range(opts.rounds):
            for name, args in cases.items():
                for backend in BACKENDS:
                    script = name.split()[0]
                    times.setdefault((name, backend), []).append(_run(script, args, backend, out))
    print("| example | " + " | ".join(BACKENDS) + " |")
    print("|---|" + "---:|" * len(BACKENDS))
    for name in cases:
        cells = []
        base = None
        for backend in BACKENDS:
            wall = statistics.median(w for w, _ in times[name, backend])
            cpu = statistics.median(c for _, c in times[name, backend])
            base = base or cpu
            ratio = "" if backend == "numpy" else f" ({cpu / base:.1f}x)"
            cells.append(f"{cpu:.1f}{ratio} [{wall:.1f}]")
        print(f"| `{name}` | " + " | ".join(cells) + " |")
    print("\nCPU seconds (ratio to numpy) [wall seconds], medians of", opts.rounds, "rounds")


if __name__ == "__main__":
    main()
