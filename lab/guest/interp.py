"""Running commands in a guest: a program by argv (what qemu-ga's guest-exec does) and shell
scripts (dash: `sh -c`, `sh FILE`, a script on stdin), with dash's and bash's error wording."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.guest.models import Ctx, Result
from lab.guest.shell import AndOr, Command, ShellSyntaxError, Word, parse

BUILTINS = frozenset({"echo", "true", "false", "exit", "set", "export", ":", "cd", "command"})


class NotExecutable(Exception):
    """What execve(2) says for a path: `No such file or directory` or `Permission denied`."""


def run_argv(ctx: Ctx, argv: list[str]) -> Result:
    """Run argv[0] (searched on PATH) with its arguments; NotExecutable when it cannot start."""
    guest = ctx.guest
    path = guest.resolve(argv[0], ctx.env)
    if path is None:
        in_dirs = "/" in argv[0] and argv[0].rstrip("/") in guest.dirs
        raise NotExecutable("Permission denied" if in_dirs else "No such file or directory")  # a directory
    if path not in guest.executables:
        raise NotExecutable("Permission denied")
    program = ctx.software.binaries.get(path)
    if program is not None:
        return program(ctx, argv)
    content = guest.files[path]
    script = ctx.software.scripts.get(content)
    if script is not None:
        return script(ctx, argv)
    bash = content.startswith(b"#!/bin/bash")
    return run_script(ctx, content.decode(errors="replace"), path, argv[1:], bash, stdin=ctx.stdin)


@dataclass
class _Shell:
    ctx: Ctx
    name: str  # `sh`, `bash` or the script's path: the prefix of its messages
    args: list[str]
    bash: bool
    vars: dict[str, str] = field(default_factory=dict)
    stdin: bytes = b""  # the shell's own input, for the first command that reads it
    errexit: bool = False
    status: int = 0
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    elapsed: float = 0.0
    exited: bool = False
    blocked: Callable[[], float] | None = None  # a command waits on something: the script waits with it

    def stopped(self) -> bool:
        return self.exited or self.blocked is not None or math.isinf(self.elapsed)

    def prefix(self, line: int) -> str:
        if self.bash:
            return f"{self.name}: line {line}: "
        return f"{self.name}: {line}: "

    def run(self, lists: list[AndOr]) -> None:
        for and_or in lists:
            status = self.pipeline(and_or.first)
            for joiner, pipeline in and_or.rest:
                if self.stopped():
                    return
                if (joiner == "&&") == (status == 0):
                    status = self.pipeline(pipeline)
            self.status = status
            if self.stopped() or (self.errexit and status != 0):
                return

    def pipeline(self, commands: list[Command]) -> int:
        stdin, status = self.stdin, 0
        self.stdin = b""  # the first command takes it all
        for i, command in enumerate(commands):
            last = i == len(commands) - 1
            status, stdin = self.command(command, stdin, last)
            if self.stopped():
                break
        return status

    def expand(self, word: Word) -> list[str]:
        if word == (("var", "@"),):
            return list(self.args)
        text = []
        for kind, value in word:
            if kind == "lit":
                text.append(value)
            elif kind == "var":
                text.append(self.variable(value))
            else:
                sub = run_script(self.ctx.later(self.elapsed), value, self.name, self.args, self.bash,
                                 dict(self.vars))
                self.err += sub.err
                self.elapsed += sub.duration
                text.append(sub.out.decode(errors="replace").rstrip("\n"))
        return ["".join(text)]

    def variable(self, name: str) -> str:
        if name.isdigit():
            n = int(name)
            return self.name if n == 0 else (self.args[n - 1] if n <= len(self.args) else "")
        special = {"@": " ".join(self.args), "#": str(len(self.args)), "?": str(self.status), "$": "1"}
        return special.get(name, self.vars.get(name, self.ctx.env.get(name, "")))

    def command(self, command: Command, stdin: bytes, last: bool) -> tuple[int, bytes]:
        words = [w for word in command.words for w in self.expand(word)]
        assigns = {name: self.expand(value)[0] for name, value in command.assigns}
        if not words:
            self.vars.update(assigns)
            return 0, b""
        out, err, code = bytearray(), bytearray(), 0
        for op, target in command.redirects:
            if op == "<":
                path = self.expand(target)[0]
                if path not in self.ctx.guest.files:
                    self.err += f"{self.prefix(command.line)}cannot open {path}: No such file\n".encode()
                    return 2, b""
                stdin = self.ctx.guest.files[path]
        result = self.builtin(words, command.line) if words[0] in BUILTINS else None
        if result is None:
            env = {**self.ctx.env, **self.vars, **assigns}
            ctx = Ctx(self.ctx.guest, self.ctx.vm, self.ctx.software, self.ctx.now + self.elapsed, env, stdin)
            try:
                result = run_argv(ctx, words)
            except NotExecutable as exc:
                result = self.not_found(words[0], command.line, str(exc))
        self.elapsed += result.duration
        if result.blocked is not None:
            self.blocked = result.blocked
        out += result.out
        err += result.err
        code = result.code
        out, err = self.redirect(command, bytes(out), bytes(err))
        self.err += err
        if last:
            self.out += out
        return code, out

    def redirect(self, command: Command, out: bytes, err: bytes) -> tuple[bytes, bytes]:
        for op, target in command.redirects:
            path = self.expand(target)[0]
            if op == "2>&1":
                out, err = out + err, b""
            elif op == ">&2":
                out, err = b"", err + out
            elif op in (">", ">>", "&>"):
                data = out + err if op == "&>" else out
                self._write(path, data, op == ">>")
                out, err = b"", (b"" if op == "&>" else err)
            elif op in ("2>", "2>>"):
                self._write(path, err, op == "2>>")
                err = b""
        return out, err

    def _write(self, path: str, data: bytes, append: bool) -> None:
        if path != "/dev/null":
            self.ctx.guest.write(path, data, append=append)

    def not_found(self, name: str, line: int, reason: str) -> Result:
        code = 126 if reason == "Permission denied" else 127
        if "/" not in name:
            reason = "command not found" if self.bash else "not found"
        elif not self.bash and code == 127:
            reason = "not found"
        return Result(code, err=f"{self.prefix(line)}{name}: {reason}\n".encode())

    def builtin(self, words: list[str], line: int) -> Result:
        name, args = words[0], words[1:]
        if name == "echo":
            newline = not (args and args[0] == "-n")
            text = " ".join(args[1:] if not newline else args)
            return Result(out=(text + ("\n" if newline else "")).encode())
        if name == "false":
            return Result(1)
        if name == "exit":
            self.exited = True
            return Result(int(args[0]) if args and args[0].isdigit() else self.status)
        if name == "set":
            for flag in args:
                if flag.startswith("-") and "e" in flag:
                    self.errexit = True
                elif flag.startswith("+") and "e" in flag:
                    self.errexit = False
        elif name == "export":
            for arg in args:
                key, eq, value = arg.partition("=")
                if eq:
                    self.vars[key] = value
        elif name == "command" and args[:1] == ["-v"] and len(args) == 2:
            path = self.ctx.guest.resolve(args[1], {**self.ctx.env, **self.vars})
            if args[1] in BUILTINS:
                return Result(out=f"{args[1]}\n".encode())
            return Result(out=f"{path}\n".encode()) if path else Result(1)
        return Result()


def run_script(ctx: Ctx, text: str, name: str, args: list[str], bash: bool = False,
               variables: dict[str, str] | None = None, stdin: bytes = b"") -> Result:
    """Run `text` as dash (or bash) would: exit status of the last command, 2 on a syntax error."""
    shell = _Shell(ctx, name, args, bash, dict(variables or {}), stdin)
    try:
        lists = parse(text)
    except ShellSyntaxError as exc:
        return Result(2, err=f"{shell.prefix(exc.line)}{exc}\n".encode())
    shell.run(lists)
    return Result(shell.status, bytes(shell.out), bytes(shell.err), shell.elapsed, shell.blocked)
