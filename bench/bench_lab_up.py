"""How long `drewburr lab up` takes to write DIR/ready (issue 2 asks for under 2 s).

Measures the whole command as a user runs it (interpreter start, imports, certificates,
servers), median of several runs; the machine is shared, so read the median, not one run.
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7


def time_to_ready(workdir: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "lab", "up", "--dir", str(workdir),
                             "--port-base", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not (workdir / "ready").exists():
            if proc.poll() is not None:
                raise RuntimeError(f"lab up exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.005)
        return time.perf_counter() - start
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        times = [time_to_ready(Path(tmp) / f"lab{i}") for i in range(RUNS)]
    print(f"lab up -> ready: median {statistics.median(times):.3f} s "
          f"(min {min(times):.3f}, max {max(times):.3f}, {RUNS} runs; limit 2 s)")


if __name__ == "__main__":
    main()
