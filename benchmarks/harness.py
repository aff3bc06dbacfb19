"""Side-by-side timing of whole commands, each in a fresh process, and the benchmarks' scratch
folder."""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"wall": dt, "rss": rss, "rc": p.returncode, "out": p.stdout,
                  "err": p.stderr[-2000:]}))
"""


@contextlib.contextmanager
def data_folder(given: Path | None, prefix: str) -> Iterator[Path]:
    """Where a benchmark writes its synthetic data: ``given`` (``--data-dir``: made there once
    and reused by later runs), else a temporary folder removed at the end, so that a benchmark
    writes nothing into the repository unless asked to."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        yield Path(folder)


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB (of this child alone) and stdout of one fresh process."""
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True,
                          check=True)
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{cmd[:4]} failed:\n{result['err']}")
    return result["wall"], result["rss"], result["out"]


@dataclass
class Comparison:
    """Wall times and peaks of several commands run in turn, ``repeat`` rounds."""

    walls: dict[str, list[float]] = field(default_factory=dict)
    peaks: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.walls[name])

    def print_table(self, reference: str = "floor") -> None:
        base = self.median(reference)
        print(f"{'run':<7} {'median s':>9} {'runs':>24} {'peak MB':>8} {'x ' + reference:>8}")
        for name, walls in self.walls.items():
            runs = ", ".join(f"{w:.2f}" for w in walls)
            print(f"{name:<7} {self.median(name):>9.2f} {runs:>24} {self.peaks[name]:>8.0f} "
                  f"{self.median(name) / base:>8.2f}")


def compare(commands: dict[str, list[str]], repeat: int, warm: str | None = "floor") -> Comparison:
    """Run every command ``repeat`` times, interleaved (after one warm-up run of ``warm``)."""
    if warm is not None:
        timed(commands[warm])  # warm the page cache
    result = Comparison({k: [] for k in commands}, {k: 0.0 for k in commands})
    for _ in range(repeat):
        for name, cmd in commands.items():
            wall, rss, out = timed(cmd)
            result.walls[name].append(wall)
            result.peaks[name] = max(result.peaks[name], rss)
            result.outputs[name] = out
    return result
