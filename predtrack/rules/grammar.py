"""The rule grammar: `[SCHEME ":"] PATH "#" SELECTOR [CMP NUMBER]`, parsed into frozen dataclasses.

`str()` of every node is canonical and parses back to an equal node. Standard library
only: `predtrack predict` parses rules on its start-up path.

Conventions:

- The rule is split at its first `#`: a path cannot contain `#`, a selector can.
  Surrounding whitespace of the rule, the path and the selector is ignored.
- A trailing `OP NUMBER` (OP one of `> < >= <= == !=`, NUMBER a finite decimal) is always
  the comparison, so a key ending in e.g. `>1` is addressed by quoting it.
- A name or pointer holding `, [ ] ( ) @ " < > = !` or white space is written in double
  quotes, with JSON string escapes (`"cheese, rate"`, `"/a b"`); a quoted text starting
  with `/` is a JSON pointer. At the top of a selector an unquoted name may still hold
  commas and spaces (`cheese, rate[maze size=25]`), as rules always could.
- Counts `K/of/N` split at the LAST segment named `of` that has segments on both sides:
  the k pointer may pass through a key named "of", the n pointer may not.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable

from predtrack.errors import RuleSyntaxError
from predtrack.rules import base
from predtrack.rules.nodes import (
    Aggregate,
    Comparison,
    Counts,
    Crossing,
    Filter,
    Fraction,
    Item,
    Pick,
    Pointer,
    Rule,
    Select,
    Selector,
    Value,
    fmt_value,
    short,
)

__all__ = ["AGGREGATES", "FILTER_OPS", "NUM_RE", "PICKS", "RANGE_OPS", "parse"]

AGGREGATES = ("mean", "median", "min", "max", "sum", "std", "count", "first", "last")
PICKS = ("last", "first", "max", "min", "step", "argmax", "argmin")
FILTER_OPS = ("!=", "<=", ">=", "=", "<", ">")
RANGE_OPS = ("<", ">", "<=", ">=")

# ASCII digits only: str regexes and float() would also accept other scripts' digits.
NUM = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
NUM_RE = re.compile(NUM)
_CMP_RE = re.compile(r"(>=|<=|==|!=|>|<)\s*(" + NUM + r")\s*\Z")
_BAD_CMP_RE = re.compile(r"\s[<>=!]")
_CALL_RE = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\s*\(")
_QUOTED_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SCHEME_RE = re.compile(r"([a-z][a-z0-9_]*):(.*)", re.S)
_PLAIN_POINTER_RE = re.compile(r"(?:/[A-Za-z0-9_.-]+)+")
_QUOTE_AFTER = "([,=<>!@"
_PICK_RE = re.compile(r"\s*([a-z]+)")
_STEP_RE = re.compile(r"\s*=\s*(" + NUM + ")")


# ---------------------------------------------------------------- parsing


class _Bad(Exception):
    """A syntax problem, re-raised by parse with the rule shown."""


def parse(text: str) -> Rule:
    """Parse a rule's text; RuleSyntaxError naming the problem (no source checks)."""
    try:
        return _parse(text)
    except _Bad as e:
        raise RuleSyntaxError(f"invalid rule {short(text, 200)}: {e}") from None


def _parse(text: str) -> Rule:
    if not isinstance(text, str):
        raise _Bad("a rule must be text")
    path, hash_mark, sel = text.strip().partition("#")
    path, sel = path.strip(), sel.strip()
    if not hash_mark:
        raise _Bad("missing '#' between the file and the selector (FILE#SELECTOR)")
    scheme = None
    m = _SCHEME_RE.fullmatch(path)
    if m and m.group(1) in base.schemes():
        scheme, path = m.group(1), m.group(2).strip()
        if not path:
            raise _Bad(f"empty path after '{scheme}:'")
    if not path:
        raise _Bad("empty file part before '#'")
    if "\x00" in path:
        raise _Bad("the file name holds a NUL byte")
    if base.source_name(path, scheme) is None:
        ext = path.rsplit("/", 1)[-1].rpartition(".")[1:]
        shown = "".join(ext) if ext[0] else path
        raise _Bad(
            f"unknown file type {shown!r} (expected one of: {', '.join(base.extensions())}; "
            f"or a scheme: {', '.join(s + ':' for s in base.schemes())})"
        )
    sel, comparison = _comparison(sel)
    return Rule(path, _selector(sel.rstrip()), comparison, text, scheme)


def _comparison(text: str) -> tuple[str, Comparison | None]:
    """`text` without a trailing `OP NUMBER`, and that comparison (None without one)."""
    m = _CMP_RE.search(text)
    if not m:
        return text, None
    threshold = float(m.group(2))
    if not math.isfinite(threshold):
        raise _Bad(f"comparison number {m.group(2)} is not finite")
    return text[: m.start()], Comparison(m.group(1), threshold)


def _selector(sel: str) -> Selector:
    if sel == "":
        return Pointer(())
    if _PLAIN_POINTER_RE.fullmatch(sel):
        # The commonest selector, `/a/b` of plain names: the Pointer (or Counts) the general
        # path below gives, without its character scans (0.03 s of a 10,000-rule resolve).
        return _counts(_pointer(sel))
    _check_balanced(sel)
    m = _CALL_RE.match(sel)
    if m:
        name = m.group(1)
        close = _closing(sel, m.end() - 1)
        args, rest = sel[m.end() : close], sel[close + 1 :]
        if name == "crossing":
            filters, tail = _trailing_filters(rest)
            if tail:
                raise _Bad(
                    _bad_cmp_message(tail)
                    if tail[:1] in "<>=!"
                    else "bad crossing selector: expected crossing(x=FIELD, y=VALUE, "
                    "level=NUMBER[, fit=linear|logistic])[FIELD=VALUE, ...]"
                )
            return _crossing(args, filters)
        if name == "fraction" or name in AGGREGATES:
            filters, tail = _trailing_filters(rest)
            if tail:
                raise _Bad(_bad_cmp_message(tail) if tail[:1] in "<>=!" else _unknown(sel))
            node = _aggregate(name, args)
            return _replace_filters(node, filters)
        raise _Bad(
            _unknown(sel) + f"; {name!r} is not an aggregate ({', '.join(AGGREGATES)}, "
            "fraction) nor crossing"
        )
    p = _Cursor(sel)
    item = p.item(stops="[@", allow_empty=True)
    if item == "":
        raise _Bad(_unknown(sel))
    filters, tail = _trailing_filters(sel[p.i :])
    if tail:
        if tail[:1] in "<>=!":
            raise _Bad(_bad_cmp_message(tail))
        if tail[:1] == "@":
            raise _Bad(f"put the series pick before the filters, as in /loss@min[step>10]: {sel!r}")
        raise _Bad(_unknown(sel))
    value: Item | Counts = _counts(item) if isinstance(item, Pointer) else item
    if isinstance(value, Pointer | Counts) and not filters:
        return value
    return Select(value, filters)


def _unknown(sel: str) -> str:
    return (
        f"unknown selector form {sel!r}: expected a value (a JSON pointer '/a/b' or a name), "
        "value[FIELD=VALUE], value@last, counts '/k/of/n', an aggregate 'mean(VALUE)', "
        "'fraction(COND)' or 'crossing(x=..., y=..., level=...)'"
    )


def _counts(pointer: Pointer) -> Pointer | Counts:
    toks = pointer.tokens
    # The last "of" with segments on both sides splits; a raw segment is "of" iff its
    # unescaped token is, since "of" contains no "~".
    for i in range(len(toks) - 2, 0, -1):
        if toks[i] == "of":
            return Counts(Pointer(toks[:i]), Pointer(toks[i + 1 :]))
    return pointer


def _aggregate(name: str, args: str) -> Aggregate | Fraction:
    parts = _split_commas(args)
    first, rest = parts[0], parts[1:]
    runs = None
    for arg in rest:
        key, eq, value = (s.strip() for s in arg.partition("="))
        if key != "runs" or not eq:
            raise _Bad(f"unknown argument {arg.strip()!r} of {name}(...) (expected runs=N)")
        if runs is not None:
            raise _Bad(f"runs given twice in {name}(...)")
        if not re.fullmatch(r"[0-9]{1,9}", value):
            raise _Bad(f"runs={value} is not a whole number")
        runs = int(value)
        if runs < 1:
            raise _Bad(f"runs={value}: runs=N needs N of at least 1")
    if name == "fraction":
        cond, comparison = _comparison(first)
        return Fraction(_whole_item(cond, name), comparison, runs)
    return Aggregate(name, _whole_item(first, name), runs)


def _whole_item(text: str, where: str) -> Item:
    p = _Cursor(text)
    if p.at_end():
        return Pointer(())
    item = p.item(stops="[@")
    if not p.at_end():
        rest = text[p.i :].strip()
        if rest.startswith("["):
            raise _Bad(f"filters go after the parentheses of {where}(...), not inside")
        raise _Bad(_bad_cmp_message(rest) if rest[:1] in "<>=!" else f"unexpected {rest!r}")
    return item


def _replace_filters(node: Aggregate | Fraction, filters: tuple[Filter, ...]) -> Selector:
    if isinstance(node, Aggregate):
        return Aggregate(node.func, node.value, node.runs, filters)
    return Fraction(node.value, node.comparison, node.runs, filters)


def _crossing(args: str, filters: tuple[Filter, ...]) -> Crossing:
    given: dict[str, str] = {}
    for item in _split_commas(args):
        key, eq, value = (s.strip() for s in item.partition("="))
        if not eq or not key or not value:
            raise _Bad(f"crossing argument {item.strip()!r} is not KEY=VALUE")
        if key not in ("x", "y", "level", "fit"):
            raise _Bad(f"unknown crossing argument {key!r} (expected x, y, level, fit)")
        if key in given:
            raise _Bad(f"crossing argument {key!r} given twice")
        given[key] = value
    missing = [k for k in ("x", "y", "level") if k not in given]
    if missing:
        raise _Bad(f"crossing(...) is missing {', '.join(missing)}")
    if not NUM_RE.fullmatch(given["level"]) or not math.isfinite(float(given["level"])):
        raise _Bad(f"crossing level {given['level']!r} is not a finite number")
    fit = given.get("fit", "linear")
    if fit not in ("linear", "logistic"):
        raise _Bad(f"crossing fit {fit!r} is not 'linear' or 'logistic'")
    x = _Cursor(given["x"]).whole_value()
    y_text = given["y"]
    m = _CALL_RE.match(y_text)
    y: Item | Aggregate | Fraction
    if m:
        name, close = m.group(1), _closing(y_text, m.end() - 1)
        if name != "fraction" and name not in AGGREGATES:
            raise _Bad(f"crossing y={y_text!r}: {name!r} is not an aggregate")
        if y_text[close + 1 :].strip():
            raise _Bad(f"crossing y={y_text!r}: filters go after crossing(...)")
        y = _aggregate(name, y_text[m.end() : close])
    else:
        y = _whole_item(y_text, "crossing")
    if x == y:
        raise _Bad("crossing x and y must be different columns")
    return Crossing(
        x, y, float(given["level"]), "logistic" if fit == "logistic" else "linear", filters
    )


def _trailing_filters(rest: str) -> tuple[tuple[Filter, ...], str]:
    """Filters `[...]` at the start of `rest`, and what follows them (stripped)."""
    rest = rest.strip()
    if not rest.startswith("["):
        return (), rest
    close = _closing(rest, 0)
    return _filters(rest[1:close]), rest[close + 1 :].strip()


def _filters(text: str) -> tuple[Filter, ...]:
    out: list[Filter] = []
    for item in _split_commas(text):
        f = _filter(item)
        for g in out:
            if g.column == f.column and (f.op == g.op or "=" in (f.op, g.op)):
                raise _Bad(f"filter column {fmt_value(f.column)!r} given twice")
        out.append(f)
    return tuple(out)


def _filter(item: str) -> Filter:
    bad = (
        f"filter {item.strip()!r} is not COLUMN=VALUE (or COLUMN OP NUMBER, OP one of != < > <= >=)"
    )
    p = _Cursor(item)
    if p.at_end():
        raise _Bad(bad)
    column = p.value(stops="!<>=", allow_empty=True)
    p.skip_ws()
    op = next((o for o in FILTER_OPS if item.startswith(o, p.i)), None)
    if op is None or column == "":
        raise _Bad(bad)
    p.i += len(op)
    p.skip_ws()
    if p.peek() == '"':
        value = p.quoted()
        if not p.at_end():
            raise _Bad(bad)
    else:
        value = item[p.i :].strip()
        if not value:
            raise _Bad(bad)
        if op == "=" and value.startswith("="):
            raise _Bad(f"filter {item.strip()!r}: use a single '=' in filters")
    if op in RANGE_OPS and not (NUM_RE.fullmatch(value) and math.isfinite(float(value))):
        raise _Bad(f"filter {item.strip()!r}: {op} compares numbers, and {value!r} is not one")
    return Filter(column, value, op)


class _Cursor:
    """A position in a piece of selector text, reading values, picks and quoted names."""

    def __init__(self, text: str) -> None:
        self.s, self.i = text, 0

    def skip_ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def peek(self) -> str:
        self.skip_ws()
        return self.s[self.i : self.i + 1]

    def at_end(self) -> bool:
        return self.peek() == ""

    def quoted(self) -> str:
        m = _QUOTED_RE.match(self.s, self.i)
        if not m:
            raise _Bad(f"unterminated quoted name in {self.s.strip()!r}")
        try:
            text = json.loads(m.group(0))
        except ValueError as e:
            raise _Bad(f"bad quoted name {m.group(0)!r}: {e}") from None
        self.i = m.end()
        return str(text)

    def value(self, stops: str, allow_empty: bool = False) -> Value:
        if self.peek() == '"':
            text = self.quoted()
        else:
            start = self.i
            while self.i < len(self.s) and self.s[self.i] not in stops:
                self.i += 1
            text = self.s[start : self.i].strip()
            if _BAD_CMP_RE.search(text):
                raise _Bad(_bad_cmp_message(text))
            if text == "" and not allow_empty:
                raise _Bad(f"empty name in {self.s.strip()!r}")
        return _pointer(text) if text.startswith("/") else text

    def whole_value(self) -> Value:
        v = self.value(stops="")
        if not self.at_end():
            raise _Bad(f"unexpected {self.s[self.i :].strip()!r} after {fmt_value(v)}")
        return v

    def item(self, stops: str, allow_empty: bool = False) -> Item:
        v = self.value(stops=stops, allow_empty=allow_empty)
        if self.peek() != "@":
            return v
        self.i += 1
        m = _PICK_RE.match(self.s, self.i)
        how = m.group(1) if m else ""
        expected = "expected @last, @first, @max, @min, @step=N, @argmax(VALUE) or @argmin(VALUE)"
        if how not in PICKS or m is None:
            raise _Bad(f"unknown series pick '@{how}' ({expected})")
        self.i = m.end()
        if how == "step":
            n = _STEP_RE.match(self.s, self.i)
            if not n or not math.isfinite(float(n.group(1))):
                raise _Bad(f"@step needs =NUMBER, as in /loss@step=100 ({expected})")
            self.i = n.end()
            return Pick(v, "step", float(n.group(1)))
        if how in ("argmax", "argmin"):
            if self.peek() != "(":
                raise _Bad(f"@{how} needs the value to optimise: @{how}(VALUE)")
            close = _closing(self.s, self.i)
            other = _Cursor(self.s[self.i + 1 : close]).whole_value()
            self.i = close + 1
            return Pick(v, how, other=other)  # type: ignore[arg-type]  # one of PICKS
        return Pick(v, how)  # type: ignore[arg-type]


def _pointer(text: str) -> Pointer:
    tokens = []
    for raw in text[1:].split("/"):
        if re.search(r"~(?![01])", raw):
            raise _Bad(f"bad '~' escape in JSON pointer {text!r} (only ~0 and ~1 are allowed)")
        tokens.append(raw.replace("~1", "/").replace("~0", "~"))
    return Pointer(tuple(tokens))


def _scan(text: str, visit: Callable[[int, str], bool], chars: str = "[]()") -> None:
    """Walk `text`, skipping quoted names, calling visit(i, ch) on `chars` until it says stop."""
    i, last = 0, ""
    while i < len(text):
        ch = text[i]
        if ch == '"' and (last == "" or last in _QUOTE_AFTER):
            m = _QUOTED_RE.match(text, i)
            if not m:
                raise _Bad(f"unterminated quoted name in {text!r}")
            i, last = m.end(), '"'
            continue
        if ch in chars and visit(i, ch):
            return
        if not ch.isspace():
            last = ch
        i += 1


def _check_balanced(text: str) -> None:
    stack: list[str] = []
    ok = [True]

    def visit(i: int, ch: str) -> bool:
        if ch in "[(":
            stack.append(ch)
        elif not stack or stack.pop() != {"]": "[", ")": "("}[ch]:
            ok[0] = False
            return True
        return False

    _scan(text, visit)
    if not ok[0] or stack:
        raise _Bad(f"unbalanced brackets in selector {text!r}")


def _closing(text: str, start: int) -> int:
    """The index of the bracket closing the one at `start` (the text is balanced)."""
    depth, found = [0], [len(text)]

    def visit(i: int, ch: str) -> bool:
        if i < start:
            return False
        depth[0] += 1 if ch in "[(" else -1
        if depth[0] == 0:
            found[0] = i
            return True
        return False

    _scan(text, visit)
    if found[0] >= len(text):
        raise _Bad(f"unbalanced brackets in selector {text!r}")
    return found[0]


def _split_commas(text: str) -> list[str]:
    """Split at commas outside brackets and quoted names."""
    cuts, depth = [], [0]

    def visit(i: int, ch: str) -> bool:
        if ch == ",":
            if depth[0] == 0:
                cuts.append(i)
        else:
            depth[0] += 1 if ch in "[(" else -1
        return False

    _scan(text, visit, "[](),")
    bounds = [-1, *cuts, len(text)]
    return [text[a + 1 : b] for a, b in itertools.pairwise(bounds)]


def _bad_cmp_message(text: str) -> str:
    return (
        f"invalid comparison in {text!r}: expected OP NUMBER at the end, "
        "with OP one of > < >= <= == != and a finite decimal NUMBER"
    )
