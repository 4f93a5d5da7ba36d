"""The Dockerfile's build stage run without a container engine: its ENV, WORKDIR, COPY and RUN lines
executed in order on this machine, with the image's absolute paths (/opt/..., /tmp/...) moved under a
folder of the test's. What `docker build` would do, short of the base image."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def stages() -> list[list[Instruction]]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped, split by FROM."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found: list[list[Instruction]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        keyword, _, args = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            found.append([])
        elif found:
            found[-1].append(Instruction(keyword.upper(), args.strip()))
    return found


def healthcheck_command() -> list[str]:
    (check,) = [i for i in stages()[-1] if i.keyword == "HEALTHCHECK"]
    return list(json.loads(check.args[check.args.index("CMD ") + 4:]))


def copied_from_build() -> list[str]:
    """What the final stage takes from the build stage (COPY --from=build SRC DEST)."""
    return [i.args.split()[1] for i in stages()[-1] if i.keyword == "COPY" and "--from=build" in i.args]


class BuildStage:
    """Runs the build stage with every absolute path under `root`; `path('/opt/x')` is where /opt/x went."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workdir = root
        bin_dir = root / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "python").symlink_to(sys.executable)  # the base image's `python`
        self.env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def _moved(self, text: str) -> str:
        return re.sub(r"(?<![\w.])/(opt|tmp|src)/", lambda m: f"{self.root}/{m[1]}/", text)

    def run(self) -> None:
        steps = {"ENV": self._env, "WORKDIR": self._workdir, "COPY": self._copy, "RUN": self._run}
        for step in stages()[0]:
            assert step.keyword in steps, f"the build stage's {step.keyword} is not emulated here"
            steps[step.keyword](step.args)

    def _env(self, args: str) -> None:
        for pair in shlex.split(args):
            name, _, value = pair.partition("=")
            self.env[name] = self._moved(value.replace("$PATH", self.env["PATH"]))

    def _workdir(self, args: str) -> None:
        self.workdir = self.path(args)
        self.workdir.mkdir(parents=True, exist_ok=True)

    def _copy(self, args: str) -> None:
        *sources, dest = args.split()
        target = self.path(dest) if dest.startswith("/") else self.workdir / dest
        for name in sources:
            if (ROOT / name).is_dir():  # COPY DIR DEST copies the folder's contents into DEST
                shutil.copytree(ROOT / name, target)
            else:
                shutil.copy(ROOT / name, target)

    def _run(self, args: str) -> None:
        done = subprocess.run(["bash", "-c", self._moved(args)], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"RUN {args}\n{done.stderr[-3000:]}"
