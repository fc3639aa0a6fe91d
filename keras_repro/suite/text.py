"""Text for people: tables wrapped to the terminal, docstrings without reST markup, claim IDs in natural order.

Pure Python (no pandas, no Keras), so the fast commands (``list``, ``show``, ``report``, ``compare``) can use it.
Wrapping never cuts a word: a line is longer than the width only where one token is.
"""
from __future__ import annotations

import re
import shutil
import textwrap
from typing import Callable, Sequence

MIN_WIDTH = 40


def terminal_width() -> int:
    """The terminal's width in characters (``$COLUMNS`` when set; 100 when output is not a terminal)."""
    return max(shutil.get_terminal_size((100, 24)).columns, MIN_WIDTH)


def wrap(text: str, width: int, indent: str = "", subsequent: str | None = None) -> list[str]:
    """``text`` wrapped to ``width`` at spaces, words never cut (at least one line, maybe empty)."""
    subsequent = indent if subsequent is None else subsequent
    return textwrap.wrap(str(text), width, initial_indent=indent, subsequent_indent=subsequent,
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def natural_key(claim_id: str) -> tuple:
    """Sort key for claim IDs in natural order: C1.3 < C1.4 < C1.10, C3.1 < C3.1b < C3.2."""
    return tuple((0, int(piece), "") if piece.isdigit() else (1, 0, piece)
                 for piece in re.findall(r"\d+|\D+", str(claim_id)))


def _longest_word(text: str) -> int:
    return max((len(w) for w in str(text).split()), default=0)


def column_widths(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int, sep: int = 2) -> list[int]:
    """Widths that fit ``width`` where they can: the widest columns give way first, down to their longest word."""
    natural = [max([len(str(h))] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    floor = [min(natural[i], max([_longest_word(h)] + [_longest_word(r[i]) for r in rows]))
             for i, h in enumerate(headers)]
    room = width - sep * (len(headers) - 1)

    def at(level: int) -> list[int]:  # every column capped at ``level``, never below its longest word
        return [max(f, min(n, level)) for n, f in zip(natural, floor)]

    low, high = 0, max(natural, default=0)
    while low < high:  # the highest level that fits
        mid = (low + high + 1) // 2
        low, high = (mid, high) if sum(at(mid)) <= room else (low, mid - 1)
    widths = at(low)
    spare = room - sum(widths)
    for i in sorted(range(len(widths)), key=lambda i: -natural[i]):  # what is left, to the widest
        give = min(max(spare, 0), natural[i] - widths[i])
        widths[i] += give
        spare -= give
    return widths


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], width: int | None = None,
          sep: str = "  ", indent: str = "", style: Callable[[int, str], str] | None = None) -> list[str]:
    """A left-aligned text table whose cells wrap (at spaces) so each line fits ``width`` where it can.

    ``style(column, text)``: decorates each padded piece of a body cell (e.g. colours; not counted in the width).
    """
    width = terminal_width() if width is None else width
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    widths = column_widths([str(h) for h in headers], cells, width - len(indent), len(sep))
    lines = []
    for n, row in enumerate([[str(h) for h in headers], *cells]):
        wrapped = [wrap(cell, w) for cell, w in zip(row, widths)]
        for k in range(max(len(c) for c in wrapped)):
            parts = [(c[k] if k < len(c) else "").ljust(w) for c, w in zip(wrapped, widths)]
            if style is not None and n:
                last = len(parts) - 1
                parts = [style(i, p.rstrip() if i == last else p) for i, p in enumerate(parts)]
            lines.append((indent + sep.join(parts)).rstrip())
    return lines


_ROLE = re.compile(r":(?:math|func|class|meth|mod|attr|data|obj|exc|ref|doc|term|py:\w+):`~?([^`]*)`")


def plain_rest(text: str) -> str:
    """``text`` with reST inline markup removed: ````x```` → x, :math:`x` → x, :func:`f` → f, `x`_ → x."""
    text = _ROLE.sub(r"\1", text)
    text = re.sub(r"``(.+?)``", r"\1", text, flags=re.S)
    text = re.sub(r"`([^`<]+?)\s*<[^>]+>`__?", r"\1", text)  # `label <url>`_
    text = re.sub(r"`([^`]+)`_{1,2}", r"\1", text)
    text = re.sub(r"(?<![\w`])`([^`]+)`(?![\w`])", r"\1", text)  # default role
    text = re.sub(r"(?m)^\s*\.\. \w+::.*$\n?", "", text)  # directives (.. note::)
    return text.replace("\\ ", "").replace("::\n", ":\n")


_ITEM = re.compile(r"^\s*(?:[-*•]\s|\d+[.)]\s|\([a-z0-9]+\)\s)")


def paragraphs(text: str, width: int | None = None, indent: str = "") -> list[str]:
    """``text`` (a docstring) as plain text: reST markup removed, each paragraph and list item re-wrapped to
    ``width``; blank lines between paragraphs kept."""
    width = terminal_width() if width is None else width
    lines: list[str] = []
    for block in re.split(r"\n\s*\n", plain_rest(textwrap.dedent(str(text)).strip())):
        items: list[list[str]] = []
        for line in block.splitlines():
            if not items or _ITEM.match(line):
                items.append([line])
            else:
                items[-1].append(line)
        for item in items:
            joined = " ".join(part.strip() for part in item)
            lead = re.match(r"\s*", item[0]).group(0)
            bullet = _ITEM.match(item[0])
            hang = lead + " " * (len(bullet.group(0)) - len(lead)) if bullet else lead
            lines += wrap(joined, width, indent + lead, indent + hang)
        lines.append("")
    return lines[:-1]


def table_or_records(headers: Sequence[str], rows: Sequence[Sequence[object]], width: int | None = None,
                     head: int = 3, together: int = 1, sep: str = "  ") -> list[str]:
    """:func:`table` when it fits ``width``; else one record per row: the first ``head`` cells on one line,
    then one ``header: cell`` line per other column (the last ``together`` columns on one line), wrapped and
    indented, so nothing runs past the width but a single long token."""
    width = terminal_width() if width is None else width
    lines = table(headers, rows, width, sep)
    if max((len(line) for line in lines), default=0) <= width:
        return lines
    out = []
    split = max(len(headers) - together, head)
    for row in rows:
        cells = ["" if v is None else str(v) for v in row]
        out += wrap(sep.join(c for c in cells[:head] if c), width, "", "    ")
        for header, cell in zip(headers[head:split], cells[head:split]):
            if cell:
                out += wrap(f"{header}: {cell}", width, "    ", "      ")
        last = "; ".join(f"{h}: {c}" for h, c in zip(headers[split:], cells[split:]) if c)
        if last:
            out += wrap(last, width, "    ", "      ")
    return out
