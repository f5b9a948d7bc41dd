#!/usr/bin/env python3
"""Layering checker for a Rust crate's module tree (stdlib only, Python 3.11+).

Reads a layer table (a fenced code block with info string `layers` in ARCHITECTURE.md) and
checks every module of the crate's src/ tree:

1. A module imports only modules of its own layer or lower layers (compared by top-level
   module; lib.rs, the crate root, may import anything).
2. Every top-level module is in exactly one layer, and every listed module exists.
3. The graph of file-level modules has no cycles (imports between a module and its own
   ancestors / descendants are not edges).

"Imports" are all paths starting with `crate::`, `super::` or `self::`, in `use` declarations
(grouped, nested, multi-line) and anywhere else in the code (expressions, types, impls).
Comments, string literals (raw ones too) and char literals are skipped. `crate::Name` where
`Name` is not a module is resolved through lib.rs's `use`/`pub use` re-exports; names
re-exported from external crates are not edges.

Usage:
    python3 scripts/layers.py                  # check crates/mcpmux/src against ARCHITECTURE.md
    python3 scripts/layers.py --architecture FILE --src DIR
    python3 scripts/layers.py --self-test      # checks the checker on throwaway crate trees

Exit status: 0 clean, 1 violations (or a failed self-test), 2 unusable input (no table, bad
table line, missing lib.rs).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ARCH = os.path.join(REPO, "ARCHITECTURE.md")
DEFAULT_SRC = os.path.join(REPO, "crates", "mcpmux", "src")

Mod = tuple  # a module path: () is the crate root, ("transport", "http") is transport::http


class InputError(Exception):
    """The input cannot be checked at all (exit 2)."""


def display(path: str) -> str:
    """A path for messages: relative to the working directory when under it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def mod_name(m: Mod) -> str:
    return "::".join(m) if m else "crate"


# --------------------------------------------------------------------------------------------
# Lexer: identifiers, `::` and single-char punctuation, with line numbers. Comments, strings,
# raw strings, byte/C strings, char and byte literals produce no tokens.
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Tok:
    kind: str  # "id" or "p"
    val: str
    line: int


def _ident_start(c: str) -> bool:
    return c == "_" or c.isalpha()


def _ident_char(c: str) -> bool:
    return c == "_" or c.isalnum()


def _skip_quoted(text: str, j: int, line: int) -> tuple[int, int]:
    """j is just past the opening `"`; returns (index past the closing quote, line)."""
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == "\\":
            if j + 1 < n and text[j + 1] == "\n":
                line += 1
            j += 2
            continue
        if ch == "\n":
            line += 1
        elif ch == '"':
            return j + 1, line
        j += 1
    return n, line


def _skip_char(text: str, i: int) -> int | None:
    """text[i] == "'": index past a char literal, or None if this is a lifetime / label."""
    n = len(text)
    if i + 1 < n and text[i + 1] == "\\":
        end = text.find("'", i + 3)
        return n if end < 0 else end + 1
    if i + 2 < n and text[i + 2] == "'":
        return i + 3
    return None


def lex(text: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c == "/" and text.startswith("/*", i):
            depth, j = 1, i + 2  # block comments nest in Rust
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    if text[j] == "\n":
                        line += 1
                    j += 1
            i = j
        elif c == '"':
            i, line = _skip_quoted(text, i + 1, line)
        elif c == "'":
            end = _skip_char(text, i)
            if end is None:
                i += 1  # lifetime or label: the name that follows lexes as an identifier
            else:
                line += text.count("\n", i, end)
                i = end
        elif _ident_start(c):
            j = i
            while j < n and _ident_char(text[j]):
                j += 1
            word = text[i:j]
            nxt = text[j] if j < n else ""
            if word in ("r", "br", "cr") and nxt in ('"', "#"):
                k = j
                while k < n and text[k] == "#":
                    k += 1
                if k < n and text[k] == '"':  # raw string r"..." / r#"..."#
                    close = '"' + "#" * (k - j)
                    end = text.find(close, k + 1)
                    end = n if end < 0 else end + len(close)
                    line += text.count("\n", i, end)
                    i = end
                    continue
                if word == "r" and k == j + 1 and k < n and _ident_start(text[k]):  # r#ident
                    m = k
                    while m < n and _ident_char(text[m]):
                        m += 1
                    toks.append(Tok("id", text[k:m], line))
                    i = m
                    continue
            if word in ("b", "c") and nxt == '"':
                i, line = _skip_quoted(text, j + 1, line)
                continue
            if word == "b" and nxt == "'":
                end = _skip_char(text, j)
                if end is not None:
                    i = end
                    continue
            toks.append(Tok("id", word, line))
            i = j
        elif c.isdigit():
            j = i
            while j < n and _ident_char(text[j]):
                j += 1
            i = j
        elif text.startswith("::", i):
            toks.append(Tok("p", "::", line))
            i += 2
        else:
            toks.append(Tok("p", c, line))
            i += 1
    return toks


# --------------------------------------------------------------------------------------------
# Use trees and paths
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Leaf:
    segs: list[str]  # as written, e.g. ["super", "super", "high", "X"]; a glob ends in "*"
    line: int
    alias: str | None = None


def _is(toks: list[Tok], i: int, val: str, kind: str = "p") -> bool:
    return i < len(toks) and toks[i].kind == kind and toks[i].val == val


def parse_tree(toks: list[Tok], i: int, prefix: list[str]) -> tuple[list[Leaf], int]:
    """Parses a use tree (or a plain path) at toks[i]; returns its leaves and the next index."""
    n = len(toks)
    if _is(toks, i, "{"):
        return parse_group(toks, i, prefix)
    if _is(toks, i, "*"):
        return [Leaf(prefix + ["*"], toks[i].line)], i + 1
    segs = list(prefix)
    line = toks[i].line if i < n else 0
    while i < n and toks[i].kind == "id":
        segs.append(toks[i].val)
        line = toks[i].line
        i += 1
        if not _is(toks, i, "::"):
            break
        if _is(toks, i + 1, "{"):
            return parse_group(toks, i + 1, segs)
        if _is(toks, i + 1, "*"):
            return [Leaf(segs + ["*"], toks[i + 1].line)], i + 2
        if i + 1 < n and toks[i + 1].kind == "id":
            i += 1
            continue
        break  # turbofish `::<` or something else: the path ends here
    alias = None
    # `X as Y` in a use tree; not `expr as crate::T` (a cast to another path).
    if (
        _is(toks, i, "as", "id")
        and i + 1 < n
        and toks[i + 1].kind == "id"
        and not _is(toks, i + 2, "::")
    ):
        alias = toks[i + 1].val
        i += 2
    return [Leaf(segs, line, alias)], i


def parse_group(toks: list[Tok], i: int, prefix: list[str]) -> tuple[list[Leaf], int]:
    """toks[i] is `{`: parses `{tree, tree, ...}`."""
    i += 1
    leaves: list[Leaf] = []
    while i < len(toks) and not _is(toks, i, "}"):
        if _is(toks, i, ","):
            i += 1
            continue
        sub, j = parse_tree(toks, i, prefix)
        if j == i:  # unexpected token: skip it rather than loop
            j = i + 1
        else:
            leaves.extend(l for l in sub if len(l.segs) > len(prefix))
        i = j
    return leaves, i + 1


@dataclass
class Ref:
    """One crate-relative path found in a file."""

    file: str
    line: int
    module: Mod  # the module the path is written in (inline mods included)
    segs: list[str]


@dataclass
class FileScan:
    path: str
    module: Mod
    refs: list[Ref] = field(default_factory=list)
    inline_mods: list[tuple[Mod, int]] = field(default_factory=list)
    declared: list[tuple[Mod, int]] = field(default_factory=list)  # `mod x;` items
    toks: list[Tok] = field(default_factory=list)


def scan_file(path: str, module: Mod) -> FileScan:
    with open(path, encoding="utf-8", errors="replace") as f:
        toks = lex(f.read())
    scan = FileScan(path, module, toks=toks)
    stack: list[str | None] = []  # one entry per open brace: the inline mod's name, or None
    i, n = 0, len(toks)
    while i < n:
        t = toks[i]
        if t.kind == "p" and t.val == "{":
            name = None
            if i >= 2 and toks[i - 1].kind == "id" and _is(toks, i - 2, "mod", "id"):
                name = toks[i - 1].val
                scan.inline_mods.append(
                    (module + tuple(s for s in stack if s) + (name,), toks[i - 2].line)
                )
            stack.append(name)
            i += 1
            continue
        if t.kind == "p" and t.val == "}":
            if stack:
                stack.pop()
            i += 1
            continue
        if (
            t.kind == "id"
            and t.val == "mod"
            and i + 2 < n
            and toks[i + 1].kind == "id"
            and _is(toks, i + 2, ";")
        ):
            scan.declared.append((module + tuple(s for s in stack if s) + (toks[i + 1].val,), t.line))
        if (
            t.kind == "id"
            and t.val in ("crate", "super", "self")
            and _is(toks, i + 1, "::")
            and not (i > 0 and _is(toks, i - 1, "::"))
        ):
            # `pub(in crate::a)` is a visibility, not an import
            if i >= 2 and _is(toks, i - 1, "in", "id") and _is(toks, i - 2, "("):
                i += 1
                continue
            current = module + tuple(s for s in stack if s)
            leaves, i = parse_tree(toks, i, [])
            for leaf in leaves:
                scan.refs.append(Ref(path, leaf.line, current, leaf.segs))
            continue
        i += 1
    return scan


# --------------------------------------------------------------------------------------------
# The crate model
# --------------------------------------------------------------------------------------------


def file_modules(src: str) -> dict[Mod, str]:
    """Every .rs file under src, by module path. lib.rs is the root."""
    if not os.path.isfile(os.path.join(src, "lib.rs")):
        raise InputError(f"{display(src)}: no lib.rs")
    mods: dict[Mod, str] = {}
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        rel = os.path.relpath(dirpath, src)
        parts = () if rel == "." else tuple(rel.split(os.sep))
        if parts and parts[0] == "bin":  # binaries are separate crates
            dirnames[:] = []
            continue
        for fn in sorted(filenames):
            if not fn.endswith(".rs"):
                continue
            stem = fn[:-3]
            if not parts and stem == "main":
                continue
            if not parts and stem == "lib":
                m: Mod = ()
            elif stem == "mod":
                m = parts
            else:
                m = parts + (stem,)
            mods[m] = os.path.join(dirpath, fn)
    return mods


@dataclass
class Crate:
    src: str
    files: dict[Mod, str]  # file-level modules
    scans: dict[Mod, FileScan]
    owner: dict[Mod, Mod]  # every module (file-level and inline) -> its file-level module
    reexports: dict[str, tuple[str, tuple]]  # root name -> ("int", path) | ("ext", path)
    globs: list[Mod]  # internal glob re-exports at the root
    warnings: list[str] = field(default_factory=list)

    def top_level(self) -> dict[str, str]:
        """Top-level file modules: name -> file."""
        return {m[0]: p for m, p in self.files.items() if len(m) == 1}


def root_reexports(scan: FileScan, top: set[str]) -> tuple[dict, list]:
    """Names that `use` / `pub use` items at the top of lib.rs bring into the crate root."""
    toks = scan.toks
    names: dict[str, tuple[str, tuple]] = {}
    globs: list[Mod] = []
    depth, i = 0, 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "p" and t.val in "{}":
            depth += 1 if t.val == "{" else -1
            i += 1
            continue
        if depth == 0 and t.kind == "id" and t.val == "use":
            i += 1
            external = _is(toks, i, "::")
            if external:
                i += 1
            leaves, i = parse_tree(toks, i, [])
            for leaf in leaves:
                segs = list(leaf.segs)
                kind = "ext"
                if not external and segs:
                    if segs[0] in ("crate", "self"):
                        segs, kind = segs[1:], "int"
                    elif segs[0] in top:
                        kind = "int"
                if segs and segs[-1] == "self":
                    segs = segs[:-1]
                if not segs:
                    continue
                if segs[-1] == "*":
                    if kind == "int":
                        globs.append(tuple(segs[:-1]))
                    continue
                name = leaf.alias or segs[-1]
                if name == "_":
                    continue
                names[name] = (kind, tuple(segs))
            continue
        i += 1
    return names, globs


def load_crate(src: str) -> Crate:
    files = file_modules(src)
    scans = {m: scan_file(p, m) for m, p in files.items()}
    owner: dict[Mod, Mod] = {m: m for m in files}
    for m, s in scans.items():
        for im, _line in s.inline_mods:
            owner.setdefault(im, m)
    top = {m[0] for m in owner if len(m) == 1}
    top |= {d[0] for d, _line in scans[()].declared if len(d) == 1}
    names, globs = root_reexports(scans[()], top)
    crate = Crate(src, files, scans, owner, names, globs)
    # A moving tree: files no `mod` item declares (not compiled), and `mod x;` with no file.
    declared = {d for s in scans.values() for d, _line in s.declared}
    for m, path in sorted(files.items()):
        if m and m not in declared:
            crate.warnings.append(f"{display(path)}: no `mod {m[-1]};` declares this file")
    for s in scans.values():
        for d, line in s.declared:
            if d not in files:
                crate.warnings.append(f"{display(s.path)}:{line}: `mod {d[-1]};` has no file")
    return crate


@dataclass
class Resolved:
    path: Mod  # canonical absolute path (re-exports expanded), without the leading `crate`
    module: Mod | None  # longest module prefix; None = an external crate's item
    note: str = ""


def absolutize(segs: list[str], current: Mod) -> Mod | None:
    """`crate`/`self`/`super` prefixes applied; None when `super` climbs above the root."""
    out: list[str] = []
    leading = True
    for k, s in enumerate(segs):
        if s == "*":
            break
        if k == 0 and s == "crate":
            continue
        if k == 0 and s == "self":
            out = list(current)
            continue
        if s == "super" and leading:
            base = current if k == 0 else tuple(out)
            if not base:
                return None
            out = list(base[:-1])
            continue
        if s == "self":  # `a::{self}`
            continue
        leading = False
        out.append(s)
    return tuple(out)


def resolve(crate: Crate, path: Mod, depth: int = 0) -> Resolved:
    for k in range(len(path), 0, -1):
        if path[:k] in crate.owner:
            return Resolved(path, path[:k])
    if path and depth < 16:
        name = path[0]
        if name in crate.reexports:
            kind, target = crate.reexports[name]
            if kind == "ext":
                return Resolved(path, None)
            res = resolve(crate, target + path[1:], depth + 1)
            if res.module == () and not res.note:
                res.note = f"re-export `crate::{name}` points at missing `crate::{mod_name(target)}`"
            return res
        if len(crate.globs) == 1:  # `pub use a::*;` is the only place the name can come from
            return resolve(crate, crate.globs[0] + path, depth + 1)
    return Resolved(path, ())  # something defined in lib.rs itself


# --------------------------------------------------------------------------------------------
# The layer table
# --------------------------------------------------------------------------------------------


@dataclass
class Layer:
    number: int
    name: str
    line: int


@dataclass
class Table:
    path: str
    layers: dict[str, Layer]  # module -> layer
    problems: list[str]


FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(\S*)")
ROW = re.compile(r"^(\d+)\s+([A-Za-z0-9_.-]+)\s*:\s*(.*)$")


def read_table(path: str) -> Table:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise InputError(f"{display(path)}: cannot read: {e.strerror}") from e
    rows: list[tuple[int, str]] = []
    blocks = 0
    fence: str | None = None  # the open fence's characters, if inside a code block
    in_layers = False
    for no, text in enumerate(lines, 1):
        m = FENCE.match(text)
        if fence is None:
            if m:
                fence, in_layers = m.group(1), m.group(2) == "layers"
                blocks += in_layers
            continue
        s = text.strip()
        if s and set(s) == {fence[0]} and len(s) >= len(fence):
            fence, in_layers = None, False
            continue
        if in_layers:
            rows.append((no, text))
    if blocks == 0:
        raise InputError(f"{display(path)}: no ```layers code block")
    if blocks > 1:
        raise InputError(f"{display(path)}: {blocks} ```layers code blocks; expected one")
    layers: dict[str, Layer] = {}
    names: dict[int, str] = {}
    problems: list[str] = []
    where = display(path)
    for no, text in rows:
        s = text.strip()
        if not s or s.startswith("#"):
            continue
        m = ROW.match(s)
        if not m:
            raise InputError(
                f"{where}:{no}: bad layer line {s!r}; expected `<number> <name>: <modules...>`"
            )
        number, name = int(m.group(1)), m.group(2)
        if names.setdefault(number, name) != name:
            raise InputError(f"{where}:{no}: layer {number} named both {names[number]} and {name}")
        for module in m.group(3).split():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", module):
                raise InputError(f"{where}:{no}: `{module}` is not a top-level module name")
            if module in layers:
                old = layers[module]
                problems.append(
                    f"{where}:{no}: module `{module}` listed twice "
                    f"(layer {old.number} {old.name} at line {old.line}, and layer {number} {name})"
                )
                continue
            layers[module] = Layer(number, name, no)
    return Table(path, layers, problems)


# --------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------


def related(a: Mod, b: Mod) -> bool:
    """a and b are the same module, or one is an ancestor of the other."""
    k = min(len(a), len(b))
    return a[:k] == b[:k]


def sccs(nodes: list[Mod], edges: dict[Mod, set[Mod]]) -> list[list[Mod]]:
    """Tarjan's algorithm, iterative."""
    index: dict[Mod, int] = {}
    low: dict[Mod, int] = {}
    on: set[Mod] = set()
    stack: list[Mod] = []
    out: list[list[Mod]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def shortest_cycle(comp: list[Mod], edges: dict[Mod, set[Mod]]) -> list[Mod]:
    """A shortest cycle through comp[0] inside the component (BFS), as a node list."""
    members = set(comp)
    start = comp[0]
    prev: dict[Mod, Mod] = {}
    queue = [start]
    seen = {start}
    while queue:
        v = queue.pop(0)
        for w in sorted(edges.get(v, ())):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return list(reversed(path))
            if w not in seen:
                seen.add(w)
                prev[w] = v
                queue.append(w)
    return [start]


@dataclass
class Report:
    modules: int
    imports: int
    violations: list[str]
    edges: dict[Mod, set[Mod]]
    cycles: list[list[Mod]]
    warnings: list[str]


def check(arch: str, src: str) -> Report:
    table = read_table(arch)
    crate = load_crate(src)
    violations: list[str] = list(table.problems)
    top = crate.top_level()
    where_arch = display(arch)

    # 2. table coverage
    for name in sorted(top):
        if name not in table.layers:
            violations.append(f"{display(top[name])}:1: module `{name}` is in no layer")
    for name in sorted(table.layers):
        if name not in top:
            lay = table.layers[name]
            violations.append(
                f"{where_arch}:{lay.line}: layer {lay.number} {lay.name} lists module `{name}`, "
                f"which does not exist in {display(src)}: stale table"
            )

    # 1. layers, and the edges for 3.
    imports = 0
    edges: dict[Mod, set[Mod]] = {}
    witness: dict[tuple[Mod, Mod], tuple[str, int, str]] = {}
    for m in sorted(crate.scans):
        scan = crate.scans[m]
        for ref in scan.refs:
            absolute = absolutize(ref.segs, ref.module)
            written = "::".join(ref.segs)
            if absolute is None:
                crate.warnings.append(
                    f"{display(ref.file)}:{ref.line}: `{written}` climbs above the crate root"
                )
                continue
            res = resolve(crate, absolute)
            if res.module is None:
                continue  # an external crate's item, re-exported
            if res.note:
                crate.warnings.append(f"{display(ref.file)}:{ref.line}: `{written}`: {res.note}")
            imports += 1
            target = crate.owner[res.module] if res.module else ()
            shown = "crate::" + "::".join(res.path) if res.path else "crate"
            if ref.segs and ref.segs[-1] == "*":
                shown += "::*"
            src_file_mod = m
            # layers: top-level of the source vs top-level of the target
            if src_file_mod and target and src_file_mod[0] != target[0]:
                a, b = table.layers.get(src_file_mod[0]), table.layers.get(target[0])
                if a and b and b.number > a.number:
                    violations.append(
                        f"{display(ref.file)}:{ref.line}: module `{mod_name(ref.module)}` "
                        f"(layer {a.number} {a.name}) imports `{shown}` "
                        f"(layer {b.number} {b.name}): upward import"
                    )
            if not related(src_file_mod, target):
                edges.setdefault(src_file_mod, set()).add(target)
                witness.setdefault((src_file_mod, target), (ref.file, ref.line, shown))

    # 3. cycles
    nodes = sorted(crate.files)
    cycles = [c for c in sccs(nodes, edges) if len(c) > 1]
    cycles.sort(key=lambda c: (-len(c), c))
    for comp in cycles:
        members = set(comp)
        names = ", ".join(f"`{mod_name(c)}`" for c in comp)
        loop = shortest_cycle(comp, edges)
        eg = " -> ".join(mod_name(c) for c in loop + loop[:1])
        inner = sorted((a, b) for a in comp for b in edges.get(a, ()) if b in members)
        parts = []
        for a, b in inner:
            f, line, shown = witness[(a, b)]
            parts.append(f"{mod_name(a)} -> {mod_name(b)} ({display(f)}:{line} `{shown}`)")
        first = crate.files[comp[0]]
        violations.append(
            f"{display(first)}:1: cycle among {len(comp)} modules {names} (e.g. {eg}); "
            f"edges: " + "; ".join(parts)
        )

    violations.extend(check_manifest(os.path.join(os.path.dirname(os.path.abspath(src)), "Cargo.toml")))
    return Report(len(crate.files), imports, violations, edges, cycles, crate.warnings)


# Crates the client library may use in its tests and benchmarks only, never as a normal
# (or build) dependency: the project's own test server, and the Rust SDK (a competitor in the
# benchmarks and a peer in interop tests).
DEV_ONLY = ("mcpmux-test-server", "rmcp")


def check_manifest(manifest: str) -> list[str]:
    """The crate's manifest beside its src/: no dev-only crate among its normal dependencies."""
    if not os.path.exists(manifest):
        return []
    import tomllib

    with open(manifest, "rb") as f:
        doc = tomllib.load(f)
    out = []
    tables = [("dependencies", doc.get("dependencies", {})),
              ("build-dependencies", doc.get("build-dependencies", {}))]
    for target, spec in doc.get("target", {}).items():
        tables.append((f"target.{target}.dependencies", spec.get("dependencies", {})))
    for table, deps in tables:
        for name, spec in deps.items():
            package = spec.get("package", name) if isinstance(spec, dict) else name
            if package in DEV_ONLY:
                out.append(
                    f"{display(manifest)}:1: [{table}] lists `{package}`, which the client "
                    f"library may only have as a dev-dependency"
                )
    return out


def run(arch: str, src: str, verbose: bool = False) -> int:
    try:
        report = check(arch, src)
    except InputError as e:
        print(f"layers: {e}", file=sys.stderr)
        return 2
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    sys.stderr.flush()
    if verbose:
        for a in sorted(report.edges):
            for b in sorted(report.edges[a]):
                print(f"edge: {mod_name(a)} -> {mod_name(b)}")
    for v in report.violations:
        print(v)
    n = len(report.violations)
    print(
        f"layers: {report.modules} modules, {report.imports} imports, "
        f"{n} violation{'' if n == 1 else 's'}"
    )
    return 1 if n else 0


# --------------------------------------------------------------------------------------------
# Self-test
# --------------------------------------------------------------------------------------------

TABLE = """# Test crate

```layers
# layer: top-level modules
0 base: error low
1 top: high
```
"""

BASE = {
    "lib.rs": """//! Root: `crate::high::Thing` in a doc comment.
mod error;
mod high;
mod low;

pub use error::E;
pub use high::{Thing, make as build};
pub use mcpmux_protocol as protocol;
pub use mcpmux_protocol::{Tool, Content};
""",
    "error.rs": "pub struct E;\n",
    "low.rs": """use crate::error::E;

pub fn f() -> E { E }
""",
    "high.rs": """use crate::low::f;
use crate::{error::E, low};

pub struct Thing;
pub trait Make {}
pub fn make() -> E { f() }
""",
}


def _case(extra: dict[str, str], table: str = TABLE, drop: tuple = ()) -> dict[str, str]:
    files = {k: v for k, v in BASE.items() if k not in drop}
    for k, v in extra.items():
        files[k] = v
    files["ARCHITECTURE.md"] = table
    return files


def _append(name: str, text: str) -> dict[str, str]:
    return {name: BASE[name] + text}


LOW_WITH_CHILD = BASE["low.rs"] + "mod child;\npub use self::child::g;\n"

TABLE_AB = TABLE.replace("0 base: error low", "0 base: error low a b")
LIB_AB = BASE["lib.rs"].replace("mod low;", "mod low;\nmod a;\nmod b;")

# (name, files, expected: None = must pass, else a substring every failing run must print)
CASES: list[tuple[str, dict[str, str], str | None]] = [
    ("clean tree", _case({}), None),
    ("(a) use crate::high::Thing", _case(_append("low.rs", "use crate::high::Thing;\n")),
     "low.rs:4: module `low` (layer 0 base) imports `crate::high::Thing` (layer 1 top): upward"),
    ("(b) grouped use", _case(_append("low.rs", "use crate::{error::E as F, high::{A, b}};\n")),
     "imports `crate::high::A`"),
    ("(c) inline path", _case(_append("low.rs", "fn g() { let x = crate::high::make(); }\n")),
     "imports `crate::high::make`"),
    ("(c2) path in a type position",
     _case(_append("low.rs", "struct S;\nimpl crate::high::Make for S {}\n")),
     "low.rs:5: module `low` (layer 0 base) imports `crate::high::Make`"),
    ("(d) super::super from low/child.rs",
     _case({"low.rs": LOW_WITH_CHILD,
            "low/child.rs": "use super::super::high::X;\npub fn g() {}\n"}),
     "low/child.rs:1: module `low::child` (layer 0 base) imports `crate::high::X`"),
    ("(e) through a lib.rs re-export", _case(_append("low.rs", "use crate::Thing;\n")),
     "imports `crate::high::Thing` (layer 1 top)"),
    ("(e2) through a renamed re-export", _case(_append("low.rs", "fn g() { crate::build(); }\n")),
     "imports `crate::high::make`"),
    ("(f) multi-line grouped use",
     _case(_append("low.rs", "use crate::{\n    error::E as F,\n    high::{\n        Thing,\n"
                             "    },\n};\n")),
     "low.rs:7: module `low` (layer 0 base) imports `crate::high::Thing`"),
    ("(g) cycle a -> b -> a in one layer",
     _case({"lib.rs": LIB_AB, "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": "pub struct B;\nfn f() { let _ = crate::a::A; }\n"}, TABLE_AB),
     "cycle among 2 modules `a`, `b`"),
    ("(g2) three-module cycle across files",
     _case({"lib.rs": LIB_AB.replace("mod b;", "mod b;\nmod c;"),
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": "use super::c::C;\npub struct B;\n",
            "c.rs": "use self::inner::X;\nmod inner { pub use crate::a::A as X; }\npub struct C;\n"},
           TABLE_AB.replace("low a b", "low a b c")),
     "cycle among 3 modules `a`, `b`, `c`"),
    ("(h) module missing from the table",
     _case({"lib.rs": BASE["lib.rs"] + "mod extra;\n", "extra.rs": "pub fn x() {}\n"}),
     "extra.rs:1: module `extra` is in no layer"),
    ("(h2) stale table entry", _case({}, TABLE.replace("1 top: high", "1 top: high gone")),
     "lists module `gone`, which does not exist"),
    ("(i) super::super from an inline test mod",
     _case(_append("low.rs", "#[cfg(test)]\nmod tests {\n    use super::*;\n"
                             "    use super::super::high::make;\n}\n")),
     "low.rs:7: module `low::tests` (layer 0 base) imports `crate::high::make`"),
    ("(j) `self` in a group", _case(_append("low.rs", "use crate::high::{self};\n")),
     "imports `crate::high` (layer 1 top)"),
    ("(k) glob", _case(_append("low.rs", "use crate::high::*;\n")),
     "imports `crate::high::*` (layer 1 top)"),
    ("(l) after a char literal and lifetimes",
     _case(_append("low.rs", "fn q<'a>(s: &'a str) -> char { let _ = '{'; let _ = '\\''; "
                             "crate::high::make(); '}' }\n")),
     "imports `crate::high::make`"),
    ("(m) doc comments and strings mention crate::high",
     _case(_append("low.rs", '/// See `crate::high::Thing` and [`x`](crate::high::make).\n'
                             '//! crate::high::X\n'
                             '/* crate::high::X /* nested */ crate::high::Y */\n'
                             '/** crate::high::Z */\n'
                             'pub fn s() -> &\'static str { "crate::high::X \\" crate::high::Y" }\n'
                             'pub fn r() -> &\'static str { r#"crate::high::X " crate::high"# }\n'
                             'pub fn b() -> &\'static [u8] { br"crate::high::X" }\n'
                             '#[doc = "crate::high::X"]\npub fn d() {}\n'
                             'const C: char = \'"\'; pub fn e() -> &\'static str { "crate::high" }\n')),
     None),
    ("(n) child imports parent via super::, parent imports child",
     _case({"low.rs": LOW_WITH_CHILD + "fn h() { self::child::g(); child::g(); }\n",
            "low/child.rs": "use super::f;\nuse super::super::error::E;\n"
                            "pub fn g() -> crate::error::E { let _: E = f(); super::f() }\n"}),
     None),
    ("(o) external re-exports: crate::protocol::Tool, crate::Tool",
     _case(_append("low.rs", "use crate::protocol::Tool as T;\nuse crate::{Tool, Content};\n"
                             "fn g(_: crate::protocol::Content) {}\n")),
     None),
    ("(p) same-layer import, downward imports, visibility paths, turbofish",
     _case({"lib.rs": LIB_AB, "a.rs": "use crate::b::B;\npub(in crate::a) struct A;\n",
            "b.rs": "pub struct B;\npub(crate) fn z() { crate::low::f(); crate::E; }\n",
            "high.rs": BASE["high.rs"] + "fn t() { crate::low::f::<>(); let _ = crate::E; }\n"},
           TABLE_AB),
     None),
    ("manifest: the test server as a normal dependency",
     _case({"Cargo.toml": "[package]\nname = \"x\"\n\n[dependencies]\n"
            "mcpmux-test-server = { path = \"../t\" }\n"}),
     "may only have as a dev-dependency"),
    ("manifest: rmcp renamed, under a target table",
     _case({"Cargo.toml": "[package]\nname = \"x\"\n\n"
            "[target.'cfg(unix)'.dependencies]\nsdk = { package = \"rmcp\", version = \"1\" }\n"}),
     "lists `rmcp`"),
    ("manifest: the test server as a dev-dependency passes",
     _case({"Cargo.toml": "[package]\nname = \"x\"\n\n[dev-dependencies]\n"
            "mcpmux-test-server = { path = \"../t\" }\n"}),
     None),
]


def self_test() -> int:
    passed = failed = 0
    for name, files, expected in CASES:
        with tempfile.TemporaryDirectory(prefix="layers-selftest-") as tmp:
            src = os.path.join(tmp, "src")
            for rel, text in files.items():
                beside = rel in ("ARCHITECTURE.md", "Cargo.toml")
                path = os.path.join(tmp if beside else src, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            cwd = os.getcwd()
            os.chdir(tmp)  # so messages carry short paths
            try:
                report = check(os.path.join(tmp, "ARCHITECTURE.md"), src)
                error = None
            except InputError as e:
                report, error = None, str(e)
            finally:
                os.chdir(cwd)
        out = "\n".join(report.violations) if report else f"input error: {error}"
        if report is None:
            ok = False
        elif expected is None:
            ok = not report.violations
        else:
            ok = bool(report.violations) and expected in out
        if ok:
            passed += 1
        else:
            failed += 1
            want = "PASS" if expected is None else f"FAIL with {expected!r}"
            print(f"self-test case {name}: expected {want}; got:")
            print("    " + (out or "(no violations)").replace("\n", "\n    "))
    print(f"layers self-test: {passed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--architecture", default=DEFAULT_ARCH, help="file with the ```layers table")
    ap.add_argument("--src", default=DEFAULT_SRC, help="the crate's src directory")
    ap.add_argument("--self-test", action="store_true", help="test the checker itself")
    ap.add_argument("--edges", action="store_true", help="also print the module graph's edges")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test()
    return run(args.architecture, args.src, args.edges)


if __name__ == "__main__":
    sys.exit(main())
