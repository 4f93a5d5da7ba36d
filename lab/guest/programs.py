"""The programs of the Ubuntu 24.04 cloud image the lab's guests run (coreutils, dash, bash,
curl, systemd's systemctl and journalctl, cloud-init), each a small model of the real one."""

from __future__ import annotations

import base64
import math
import re

from lab.guest import services
from lab.guest.interp import run_script
from lab.guest.models import Ctx, Program, Result, Software

KERNEL = "6.8.0-49-generic"


def _sh(ctx: Ctx, argv: list[str]) -> Result:
    bash = argv[0].endswith("bash")
    name = "bash" if bash else "sh"
    args, errexit = argv[1:], False
    while args and args[0].startswith("-") and args[0] not in ("-", "--", "-c", "-s"):
        errexit = errexit or "e" in args.pop(0)
    prelude = "set -e\n" if errexit else ""
    if args[:1] == ["-c"]:
        if len(args) < 2:
            return Result(2, err=f"{name}: 0: -c requires an argument\n".encode())
        # `sh -c SCRIPT NAME ARGS...`: NAME is $0, which dash also puts before its messages
        return run_script(ctx, prelude + args[1], args[2] if len(args) > 2 else name, args[3:], bash,
                          stdin=ctx.stdin)
    if not args or args[0] in ("-s", "-", "--"):
        rest = args[1:] if args else []
        if rest[:1] in (["-"], ["--"]):
            rest = rest[1:]
        return _script(ctx, ctx.stdin, name, rest, bash, prelude, b"")
    path = args[0]
    if path not in ctx.guest.files:
        if bash:
            return Result(127, err=f"bash: {path}: No such file or directory\n".encode())
        return Result(2, err=f"sh: 0: cannot open {path}: No such file\n".encode())
    return _script(ctx, ctx.guest.files[path], path, args[1:], bash, prelude, ctx.stdin)


def _script(ctx: Ctx, text: bytes, name: str, args: list[str], bash: bool, prelude: str,
            stdin: bytes) -> Result:
    known = ctx.software.scripts.get(text)
    if known is not None:  # a script the lab runs natively (the K3s installer)
        return known(Ctx(ctx.guest, ctx.vm, ctx.software, ctx.now, ctx.env, stdin), [name, *args])
    return run_script(ctx, prelude + text.decode(errors="replace"), name, args, bash, stdin=stdin)


def _cat(ctx: Ctx, argv: list[str]) -> Result:
    out, err, code = bytearray(), bytearray(), 0
    for path in argv[1:] or ["-"]:
        if path == "-":
            out += ctx.stdin
        elif path in ctx.guest.files:
            out += ctx.guest.files[path]
        else:
            reason = "Is a directory" if path in ctx.guest.dirs else "No such file or directory"
            err += f"cat: {path}: {reason}\n".encode()
            code = 1
    return Result(code, bytes(out), bytes(err))


def _echo(ctx: Ctx, argv: list[str]) -> Result:
    newline = argv[1:2] != ["-n"]
    return Result(out=(" ".join(argv[1 if newline else 2:]) + ("\n" if newline else "")).encode())


def _hostname(ctx: Ctx, argv: list[str]) -> Result:
    if argv[1:2] == ["-I"]:
        return Result(out=f"{ctx.guest.ip} \n".encode())
    return Result(out=f"{ctx.guest.hostname}\n".encode())


def _curl(ctx: Ctx, argv: list[str]) -> Result:
    args, output, url = argv[1:], None, None
    silent = any(a.startswith("-") and not a.startswith("--") and "s" in a and "S" not in a for a in args)
    i = 0
    while i < len(args):
        if args[i] in ("-o", "--output"):
            output, i = args[i + 1] if i + 1 < len(args) else None, i + 2
            continue
        if not args[i].startswith("-"):
            url = args[i]
        i += 1
    if url is None:
        return Result(2, err=b"curl: no URL specified\n"
                      b"curl: try 'curl --help' or 'curl --manual' for more information\n")
    body = ctx.software.urls.get(url.rstrip("/"))
    if body is None:
        host = re.sub(r"^[a-z]+://", "", url).split("/")[0]
        err = b"" if silent else f"curl: (6) Could not resolve host: {host}\n".encode()
        return Result(6, err=err, duration=1)
    if output:
        ctx.guest.write(output, body)
        return Result(duration=1)
    return Result(out=body, duration=1)


def _chmod(ctx: Ctx, argv: list[str]) -> Result:
    mode, paths = (argv[1], argv[2:]) if len(argv) > 2 else ("", [])
    for path in paths:
        if path not in ctx.guest.files:
            return Result(1, err=f"chmod: cannot access '{path}': No such file or directory\n".encode())
        executable = "+x" in mode or (mode.isdigit() and int(mode[-3], 8) & 1)
        if executable:
            ctx.guest.executables.add(path)
        elif "-x" in mode or mode.isdigit():
            ctx.guest.executables.discard(path)
    return Result()


def _mkdir(ctx: Ctx, argv: list[str]) -> Result:
    for path in (a for a in argv[1:] if not a.startswith("-")):
        ctx.guest.mkdir(path.rstrip("/") or "/")
    return Result()


def _rm(ctx: Ctx, argv: list[str]) -> Result:
    force = any(a.startswith("-") and "f" in a for a in argv[1:])
    for path in (a for a in argv[1:] if not a.startswith("-")):
        if not ctx.guest.remove(path) and not force:
            return Result(1, err=f"rm: cannot remove '{path}': No such file or directory\n".encode())
    return Result()


def _sleep(ctx: Ctx, argv: list[str]) -> Result:
    try:
        seconds = float(argv[1].rstrip("s"))
    except (IndexError, ValueError):
        return Result(1, err=b"sleep: missing operand\n")
    if math.isnan(seconds) or seconds < 0:
        return Result(1, err=f"sleep: invalid time interval '{argv[1]}'\n".encode())
    return Result(duration=seconds)  # `sleep inf` never ends


def _sudo(ctx: Ctx, argv: list[str]) -> Result:
    from lab.guest.interp import NotExecutable, run_argv

    args = argv[1:]
    while args and args[0].startswith("-"):
        args = args[1:]
    if not args:
        return Result(1, err=b"usage: sudo -h | -K | -k | -V\n")
    try:
        return run_argv(ctx, args)
    except NotExecutable:
        return Result(1, err=f"sudo: {args[0]}: command not found\n".encode())


def _tee(ctx: Ctx, argv: list[str]) -> Result:
    append = "-a" in argv[1:]
    for path in (a for a in argv[1:] if not a.startswith("-")):
        ctx.guest.write(path, ctx.stdin, append=append)
    return Result(out=ctx.stdin)


def _grep(ctx: Ctx, argv: list[str]) -> Result:
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-"))
    rest = [a for a in argv[1:] if not a.startswith("-")]
    if not rest:
        return Result(2, err=b"Usage: grep [OPTION]... PATTERNS [FILE]...\n")
    pattern = re.compile(rest[0] if "F" not in flags else re.escape(rest[0]), re.I if "i" in flags else 0)
    text = ctx.guest.files.get(rest[1], b"") if len(rest) > 1 else ctx.stdin
    invert = "v" in flags
    lines = [ln for ln in text.decode(errors="replace").splitlines() if bool(pattern.search(ln)) != invert]
    out = b"" if "q" in flags else "".join(f"{ln}\n" for ln in lines).encode()
    return Result(0 if lines else 1, out)


def _base64(ctx: Ctx, argv: list[str]) -> Result:
    if "-d" in argv[1:] or "--decode" in argv[1:]:
        try:
            return Result(out=base64.b64decode(ctx.stdin))
        except ValueError:
            return Result(1, err=b"base64: invalid input\n")
    return Result(out=base64.encodebytes(ctx.stdin))


def _uname(ctx: Ctx, argv: list[str]) -> Result:
    table = {"-r": KERNEL, "-m": "x86_64", "-s": "Linux", "-n": ctx.guest.hostname}
    if "-a" in argv[1:]:
        text = f"Linux {ctx.guest.hostname} {KERNEL} #49-Ubuntu SMP PREEMPT_DYNAMIC x86_64 GNU/Linux"
    else:
        text = " ".join(table.get(a, "Linux") for a in argv[1:] or ["-s"])
    return Result(out=f"{text}\n".encode())


def _id(ctx: Ctx, argv: list[str]) -> Result:
    return Result(out=b"0\n" if "-u" in argv[1:] else b"uid=0(root) gid=0(root) groups=0(root)\n")


def _ls(ctx: Ctx, argv: list[str]) -> Result:
    guest, out, err = ctx.guest, [], []
    for path in [a for a in argv[1:] if not a.startswith("-")] or ["/"]:
        path = path.rstrip("/") or "/"
        if path in guest.files:
            out.append(path)
        elif path in guest.dirs:
            inside = {p[len(path.rstrip("/")) + 1:].split("/")[0] for p in (*guest.files, *guest.dirs)
                      if p.startswith(path.rstrip("/") + "/")}
            out.extend(sorted(inside - {""}))
        else:
            err.append(f"ls: cannot access '{path}': No such file or directory")
    return Result(2 if err else 0, "".join(f"{o}\n" for o in out).encode(),
                  "".join(f"{e}\n" for e in err).encode())


def _env(ctx: Ctx, argv: list[str]) -> Result:
    from lab.guest.interp import NotExecutable, run_argv

    args, env = argv[1:], dict(ctx.env)
    while args and "=" in args[0] and not args[0].startswith("="):
        key, _, value = args.pop(0).partition("=")
        env[key] = value
    if not args:
        return Result(out="".join(f"{k}={v}\n" for k, v in env.items()).encode())
    try:
        return run_argv(Ctx(ctx.guest, ctx.vm, ctx.software, ctx.now, env, ctx.stdin), args)
    except NotExecutable as exc:
        return Result(127, err=f"env: \u2018{args[0]}\u2019: {exc}\n".encode())


def _test(ctx: Ctx, argv: list[str]) -> Result:
    """test / [: the file and string checks scripts use."""
    args = argv[1:]
    if argv[0].endswith("["):
        if args[-1:] != ["]"]:
            return Result(2, err=b"[: missing ']'\n")
        args = args[:-1]
    negate = args[:1] == ["!"]
    args = args[1:] if negate else args
    files, guest = ctx.guest.files, ctx.guest
    if len(args) == 2 and args[0] in ("-f", "-e", "-d", "-x", "-s", "-z", "-n"):
        op, arg = args
        ok = {"-f": arg in files, "-e": arg in files or arg in guest.dirs, "-d": arg in guest.dirs,
              "-x": arg in guest.executables, "-s": bool(files.get(arg)), "-z": arg == "",
              "-n": arg != ""}[op]
    elif len(args) == 3 and args[1] in ("=", "!="):
        ok = (args[0] == args[2]) == (args[1] == "=")
    elif len(args) == 1:
        ok = args[0] != ""
    elif not args:
        ok = False
    else:
        return Result(2, err=f"{argv[0]}: unexpected operator\n".encode())
    return Result(0 if ok != negate else 1)


def _printf(ctx: Ctx, argv: list[str]) -> Result:
    if len(argv) < 2:
        return Result(1, err=b"printf: usage: printf format [arguments]\n")
    text, args = argv[1].replace("\\n", "\n").replace("\\t", "\t"), list(argv[2:])
    out = re.sub(r"%[sd]", lambda m: args.pop(0) if args else "", text)
    return Result(out=out.encode())


def _true(ctx: Ctx, argv: list[str]) -> Result:
    return Result()


def _false(ctx: Ctx, argv: list[str]) -> Result:
    return Result(1)


_PROGRAMS: dict[str, Program] = {
    "sh": _sh, "dash": _sh, "bash": _sh, "cat": _cat, "echo": _echo, "true": _true, "false": _false,
    "hostname": _hostname, "cloud-init": services.cloud_init, "systemctl": services.systemctl,
    "journalctl": services.journalctl,
    "curl": _curl, "chmod": _chmod, "mkdir": _mkdir, "rm": _rm, "sleep": _sleep, "sudo": _sudo, "tee": _tee,
    "grep": _grep, "base64": _base64, "uname": _uname, "id": _id, "ls": _ls, "env": _env, "test": _test,
    "[": _test, "printf": _printf,
}


def ubuntu() -> Software:
    """The cloud image's programs, each in /usr/bin (and /bin: Ubuntu's /bin is /usr/bin)."""
    binaries = {f"{d}/{name}": fn for name, fn in _PROGRAMS.items() for d in ("/usr/bin", "/bin")}
    return Software(binaries=binaries)
