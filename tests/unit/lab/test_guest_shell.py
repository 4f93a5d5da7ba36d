"""The guest's shell-line parser: the POSIX subset scripts sent through a guest agent use."""

from __future__ import annotations

import pytest

from lab.guest.shell import ShellSyntaxError, literal, parse


def _words(text: str) -> list[list[str | None]]:
    return [[literal(w) for w in cmd.words] for and_or in parse(text) for cmd in and_or.first]


def test_quotes_keep_a_phrase_one_word_and_blanks_split_the_rest():
    assert _words("echo 'hi there' \"and you\" plain\\ word end") == [
        ["echo", "hi there", "and you", "plain word", "end"]
    ]
    assert _words('echo ""') == [["echo", ""]]


def test_a_pipeline_carries_its_leading_assignments_to_the_command():
    (and_or,) = parse(
        "curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC='server --x' K3S_TOKEN=abc sh -s - --y"
    )
    curl, sh = and_or.first
    assert [literal(w) for w in curl.words] == ["curl", "-sfL", "https://get.k3s.io"]
    assert [(name, literal(v)) for name, v in sh.assigns] == [
        ("INSTALL_K3S_EXEC", "server --x"),
        ("K3S_TOKEN", "abc"),
    ]
    assert [literal(w) for w in sh.words] == ["sh", "-s", "-", "--y"]


def test_and_or_lists_and_separators():
    lists = parse("a && b || c; d\ne")
    assert [[j for j, _ in lst.rest] for lst in lists] == [["&&", "||"], [], []]
    assert [literal(lst.first[0].words[0]) for lst in lists] == ["a", "d", "e"]


def test_an_operator_at_a_line_end_continues_on_the_next_line():
    (and_or,) = parse("a &&\n  b")
    assert literal(and_or.rest[0][1][0].words[0]) == "b" and and_or.rest[0][1][0].line == 2


def test_expansions_stay_parts_until_run():
    (and_or,) = parse('echo "$HOME/x" ${K3S_URL} $(cat /etc/hostname) $@')
    assert and_or.first[0].words[1:] == [
        (("var", "HOME"), ("lit", "/x")),
        (("var", "K3S_URL"),),
        (("cmd", "cat /etc/hostname"),),
        (("var", "@"),),
    ]
    assert literal(and_or.first[0].words[1]) is None


def test_redirections_are_not_words():
    (and_or,) = parse("cat x 2>&1 >/dev/null 2> err.log < in")
    cmd = and_or.first[0]
    assert [literal(w) for w in cmd.words] == ["cat", "x"]
    assert [(op, literal(t)) for op, t in cmd.redirects] == [
        ("2>&1", ""),
        (">", "/dev/null"),
        ("2>", "err.log"),
        ("<", "in"),
    ]


def test_comments_and_blank_lines_are_skipped():
    assert _words("# a comment\n\necho hi # trailing\n") == [["echo", "hi"]]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('echo "open', "Syntax error: Unterminated quoted string", 1),
        ("&& a", 'Syntax error: "&&" unexpected', 1),
        ("echo a\n| b", 'Syntax error: "|" unexpected', 2),
        ("a |", "Syntax error: end of file unexpected", 1),
        ("a ;; b", 'Syntax error: ";;" unexpected', 1),
        ("echo ${", "Syntax error: Bad substitution", 1),
        ("cat >", "Syntax error: newline unexpected", 1),
    ],
)
def test_syntax_errors_read_as_dash_words_them(text, message, line):
    with pytest.raises(ShellSyntaxError) as caught:
        parse(text)
    assert (str(caught.value), caught.value.line) == (message, line)
