"""How long the default scenario takes to reach steady state after `drewburr lab up`.

Steady: every node Ready, every pod Running with all its containers ready, every Deployment,
StatefulSet and DaemonSet fully available, as the official Python client sees them. The whole
command runs as a user starts it; the figures are real seconds from the start of `lab up`
and lab seconds (the lab's own clock, from `DIR/ready` to steady), median of a few runs, at
time scale 1 (what `lab up` does by default) and at a higher one.
"""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from kubernetes import config

from tests.lab.kube import unsteady

SCALES, RUNS, LIMIT = (1.0, 20.0), 3, 600.0  # LIMIT: real seconds before a run counts as stuck


def _lab_now(workdir: Path) -> float:
    url = json.loads((workdir / "lab.json").read_text())["control_url"] + "/lab/status"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return float(json.load(resp)["now"])


def time_to_steady(workdir: Path, scale: float) -> tuple[float, float]:
    """(real seconds from starting `lab up`, lab seconds from `ready`) until steady."""
    start = time.perf_counter()
    argv = [sys.executable, "-m", "bot", "lab", "up", "--dir", str(workdir), "--port-base", "0",
            "--time-scale", str(scale)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not (workdir / "ready").exists():
            if proc.poll() is not None:
                raise RuntimeError(f"lab up exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.01)
        ready_lab = _lab_now(workdir)
        with config.new_client_from_config(config_file=str(workdir / "kubeconfig")) as api:
            while waiting := unsteady(api):
                if time.perf_counter() - start > LIMIT:
                    raise RuntimeError(f"not steady after {LIMIT:.0f} s: {', '.join(waiting[:10])}")
                time.sleep(0.05)
        return time.perf_counter() - start, _lab_now(workdir) - ready_lab
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for scale in SCALES:
            runs = [time_to_steady(Path(tmp) / f"lab-{scale:g}-{i}", scale) for i in range(RUNS)]
            real, lab = [r for r, _ in runs], [lab for _, lab in runs]
            print(f"lab up -> steady (default scenario, time scale {scale:g}): "
                  f"median {statistics.median(real):.2f} s real (min {min(real):.2f}, max {max(real):.2f}), "
                  f"{statistics.median(lab):.1f} lab s after ready; {RUNS} runs")


if __name__ == "__main__":
    main()
