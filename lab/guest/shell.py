"""A POSIX shell line parser (the subset scripts run through a guest agent use), pure.

`parse(text)` gives a list of and-or lists; each is pipelines joined by `&&` / `||`; each
pipeline is simple commands joined by `|`. A word is a tuple of parts: literal text, a
`$NAME` / `${NAME}` expansion, or a `$(...)` command substitution, expanded when run (the
variables an earlier line sets are known only then). Redirections: `>`, `>>`, `<`, `2>`,
`2>>`, `2>&1`, `>&2`, `&>`. Syntax errors carry dash's wording ("Syntax error: ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

Part = tuple[str, str]  # ("lit", text) | ("var", NAME) | ("cmd", script)
Word = tuple[Part, ...]
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@#?$]")
_OPERATORS = ("&&", "||", ";;", ">>", "2>>", "2>&1", ">&2", "&>", "2>", ">", "<", "|", ";", "&", "\n")


class ShellSyntaxError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Command:
    assigns: list[tuple[str, Word]] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    redirects: list[tuple[str, Word]] = field(default_factory=list)  # (operator, target)
    line: int = 1


Pipeline = list[Command]


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]] = field(default_factory=list)  # ("&&" | "||", pipeline)


def literal(word: Word) -> str | None:
    """The word's text when it has no expansion in it."""
    return "".join(t for k, t in word) if all(k == "lit" for k, _ in word) else None


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text, self.i, self.line = text, 0, 1

    def tokens(self) -> list[tuple[str, Word | str, int]]:
        """("op", operator) and ("word", parts) tokens; comments dropped."""
        out: list[tuple[str, Word | str, int]] = []
        while self.i < len(self.text):
            c = self.text[self.i]
            if c in " \t":
                self.i += 1
            elif c == "\\" and self.text[self.i + 1:self.i + 2] == "\n":
                self.i += 2
                self.line += 1
            elif c == "#":
                while self.i < len(self.text) and self.text[self.i] != "\n":
                    self.i += 1
            elif op := next((o for o in _OPERATORS if self.text.startswith(o, self.i)
                             and (o[0] != "2" or self._word_start())), None):
                out.append(("op", op, self.line))
                self.i += len(op)
                self.line += op == "\n"
            else:
                out.append(("word", self._word(), self.line))
        return out

    def _word_start(self) -> bool:
        return self.i == 0 or self.text[self.i - 1] in " \t\n;|&"

    def _word(self) -> Word:
        parts: list[Part] = []
        lit: list[str] = []

        def flush() -> None:
            if lit:
                parts.append(("lit", "".join(lit)))
                lit.clear()

        while self.i < len(self.text):
            c = self.text[self.i]
            if c in " \t\n;|&<>":
                break
            self.i += 1
            if c == "'":
                end = self.text.find("'", self.i)
                if end < 0:
                    raise ShellSyntaxError("Syntax error: Unterminated quoted string", self.line)
                lit.append(self.text[self.i:end])
                self.line += self.text.count("\n", self.i, end)
                self.i = end + 1
            elif c == '"':
                self._double_quoted(lit, flush, parts)
            elif c == "\\":
                lit.append(self.text[self.i:self.i + 1])
                self.i += 1
            elif c == "$":
                self._dollar(lit, flush, parts)
            else:
                lit.append(c)
        flush()
        return tuple(parts) or (("lit", ""),)

    def _double_quoted(self, lit: list[str], flush: Callable[[], None], parts: list[Part]) -> None:
        while True:
            if self.i >= len(self.text):
                raise ShellSyntaxError("Syntax error: Unterminated quoted string", self.line)
            c = self.text[self.i]
            self.i += 1
            if c == '"':
                if not lit and (not parts or parts[-1][0] != "lit"):
                    lit.append("")  # "" is an empty word, not no word
                return
            if c == "\\" and self.text[self.i:self.i + 1] in ('"', "\\", "$", "`"):
                lit.append(self.text[self.i])
                self.i += 1
            elif c == "$":
                self._dollar(lit, flush, parts)
            else:
                self.line += c == "\n"
                lit.append(c)

    def _dollar(self, lit: list[str], flush: Callable[[], None], parts: list[Part]) -> None:
        rest = self.text[self.i:]
        if rest.startswith("("):
            depth, j = 0, 0
            while j < len(rest):
                depth += {"(": 1, ")": -1}.get(rest[j], 0)
                if depth == 0:
                    break
                j += 1
            if depth:
                raise ShellSyntaxError('Syntax error: end of file unexpected (expecting ")")', self.line)
            flush()
            parts.append(("cmd", rest[1:j]))
            self.i += j + 1
            return
        braced = rest.startswith("{")
        m = _NAME.match(rest, 1 if braced else 0)
        if m is None or (braced and not rest.startswith("}", m.end())):
            if braced:
                raise ShellSyntaxError("Syntax error: Bad substitution", self.line)
            lit.append("$")
            return
        flush()
        parts.append(("var", m.group()))
        self.i += m.end() + (1 if braced else 0)


def parse(text: str) -> list[AndOr]:
    """The script's and-or lists, in order; ShellSyntaxError with dash's message and line."""
    tokens = _Lexer(text).tokens()
    state = _Parser()
    for kind, value, line in tokens:
        if kind == "word":
            assert isinstance(value, tuple)
            state.word(value, line)
        else:
            state.operator(str(value), line)
    return state.finish(tokens[-1][2] if tokens else 1)


def _unexpected(op: str, line: int) -> ShellSyntaxError:
    return ShellSyntaxError(f'Syntax error: "{op}" unexpected', line)


class _Parser:
    def __init__(self) -> None:
        self.lists: list[AndOr] = []
        self.command = Command()
        self.pipeline: Pipeline = []
        self.current: AndOr | None = None
        self.joiner = ""
        self.dangling = False  # after `|`, `&&` or `||`: a command must follow
        self.redirect: str | None = None  # a redirection operator waiting for its target

    def _empty(self) -> bool:
        c = self.command
        return not (c.words or c.assigns or c.redirects)

    def word(self, value: Word, line: int) -> None:
        if self.redirect is not None:
            self.command.redirects.append((self.redirect, value))
            self.redirect = None
            return
        if self._empty():
            self.command.line = line
        head = value[0][1] if value[0][0] == "lit" else ""
        name, eq, first = head.partition("=")
        if not self.command.words and eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            self.command.assigns.append((name, (("lit", first), *value[1:])))
        else:
            self.command.words.append(value)

    def operator(self, op: str, line: int) -> None:
        if self.redirect is not None:
            raise _unexpected(op if op != "\n" else "newline", line)
        if op == ";;":
            raise _unexpected(op, line)
        if op in (">", ">>", "<", "2>", "2>>", "&>"):
            self.redirect = op
        elif op in ("2>&1", ">&2"):
            self.command.redirects.append((op, (("lit", ""),)))
        elif op == "|":
            if not self.command.words and not self.command.assigns:
                raise _unexpected(op, line)
            self.pipeline.append(self.command)
            self.command, self.dangling = Command(line=line), True
        elif op in ("&&", "||"):
            if self._empty():
                raise _unexpected(op, line)
            self._end_pipeline()
            self.joiner, self.dangling = op, True
        elif self._empty():  # ; & or newline with no command before it
            if op != "\n" or (self.pipeline and not self.dangling):
                raise _unexpected(op, line)
        else:
            self._end_pipeline()
            assert self.current is not None
            self.lists.append(self.current)
            self.current = None

    def _end_pipeline(self) -> None:
        self.pipeline.append(self.command)
        if self.current is None:
            self.current = AndOr(self.pipeline)
        else:
            self.current.rest.append((self.joiner, self.pipeline))
        self.pipeline, self.command, self.dangling = [], Command(), False

    def finish(self, line: int) -> list[AndOr]:
        if self.redirect is not None:
            raise ShellSyntaxError("Syntax error: newline unexpected", line)
        if not self._empty():
            self._end_pipeline()
        elif self.dangling:
            raise ShellSyntaxError("Syntax error: end of file unexpected", line)
        if self.current is not None:
            self.lists.append(self.current)
        return self.lists
