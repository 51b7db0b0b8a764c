"""Which parts of a crate are tests, and how to put them back before grading.

Agents weaken tests (edit, delete, ``#[ignore]``). Before grading, the agent's changes are
filtered (:func:`graded_changes`): only ``src/**/*.rs`` files that are not test-only modules
count; inside those, every ``#[cfg(test)] mod`` (inline or out-of-line declaration) is replaced
by the one of the starting state (:func:`restore_test_modules`, tree-sitter based), and agent-added
test modules are dropped. Test files (``tests/``, ``benches/``, ``examples/``), ``Cargo.toml``,
``Cargo.lock``, ``build.rs`` and config files keep their starting content. Redefining std's
assertion macros (``macro_rules! assert_eq``) is reported as tampering.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import PurePosixPath

_CFG_TEST = re.compile(rb"^#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]$")
_PATH_ATTR = re.compile(rb"^#\s*\[\s*path\s*=\s*\"([^\"]+)\"\s*\]$")
_STD_MACROS = ("assert", "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq",
               "debug_assert_ne", "panic", "unreachable", "todo", "unimplemented", "matches")
_MACRO_DEF = re.compile(r"macro_rules!\s*(" + "|".join(_STD_MACROS) + r")\s*[\{\(\[]")
_parser_local = threading.local()


def _parser():
    p = getattr(_parser_local, "parser", None)
    if p is None:
        import tree_sitter_rust as tsr
        from tree_sitter import Language, Parser

        p = Parser(Language(tsr.language()))
        _parser_local.parser = p
    return p


@dataclass
class TestMod:
    path: tuple[str, ...]          # module path inside the file, ending with the test module's name
    start: int                     # byte offset of its first attribute
    end: int                       # byte offset after the item
    inline: bool
    path_attr: str | None = None   # #[path = "..."] of an out-of-line module


@dataclass
class _Container:
    path: tuple[str, ...]
    close: int                     # byte offset of the closing '}' (or end of file)


def _scan(src: bytes) -> tuple[list[TestMod], dict[tuple[str, ...], _Container]]:
    tree = _parser().parse(src)
    mods: list[TestMod] = []
    containers: dict[tuple[str, ...], _Container] = {(): _Container((), len(src))}

    def walk(node, path: tuple[str, ...]) -> None:
        attrs: list = []
        for child in node.named_children:
            t = child.type
            if t == "attribute_item":
                attrs.append(child)
                continue
            if t in ("line_comment", "block_comment"):
                continue
            if t == "mod_item":
                name_node = child.child_by_field_name("name")
                name = src[name_node.start_byte:name_node.end_byte].decode(errors="replace") if name_node else "?"
                body = child.child_by_field_name("body")
                texts = [src[a.start_byte:a.end_byte] for a in attrs]
                if any(_CFG_TEST.match(x.strip()) for x in texts):
                    path_attr = next((m.group(1).decode() for x in texts if (m := _PATH_ATTR.match(x.strip()))), None)
                    mods.append(TestMod(path + (name,), attrs[0].start_byte if attrs else child.start_byte,
                                        child.end_byte, body is not None, path_attr))
                elif body is not None:
                    containers[path + (name,)] = _Container(path + (name,), body.end_byte - 1)
                    walk(body, path + (name,))
            attrs = []

    walk(tree.root_node, ())
    return mods, containers


def test_modules(text: str) -> list[TestMod]:
    """``#[cfg(test)] mod`` items of a Rust file (any depth, not inside other test modules)."""
    return _scan(text.encode())[0]


def restore_test_modules(agent_text: str, start_text: str | None) -> str:
    """``agent_text`` with its test modules replaced by those of ``start_text`` (matched by module
    path; a start module whose parent module the agent removed is dropped); agent-added test
    modules are removed."""
    a = agent_text.encode()
    a_mods, containers = _scan(a)
    s = (start_text or "").encode()
    s_mods = _scan(s)[0] if start_text else []
    by_path = {m.path: m for m in a_mods}
    edits: list[tuple[int, int, bytes]] = []
    used: set[tuple[str, ...]] = set()
    for sm in s_mods:
        text = s[sm.start:sm.end]
        am = by_path.get(sm.path)
        if am is not None and sm.path not in used:
            used.add(sm.path)
            edits.append((am.start, am.end, text))
            continue
        parent = containers.get(sm.path[:-1])
        if parent is None:
            continue
        if parent.path == ():
            edits.append((len(a), len(a), b"\n\n" + text + b"\n"))
        else:
            edits.append((parent.close, parent.close, b"\n" + text + b"\n"))
    for am in a_mods:
        if am.path not in used:
            edits.append((am.start, am.end, b""))
    # apply from the end so offsets stay valid (stable for equal positions)
    out = a
    for start, end, rep in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + rep + out[end:]
    return out.decode("utf-8", errors="surrogateescape")


def _module_dir(rel: str) -> PurePosixPath:
    p = PurePosixPath(rel)
    if p.name in ("lib.rs", "main.rs", "mod.rs"):
        return p.parent
    return p.parent / p.stem


def test_only_files(files: dict[str, str]) -> set[str]:
    """Files of ``files`` (rel → text) that are out-of-line ``#[cfg(test)] mod x;`` modules,
    and everything below such a module's folder."""
    out: set[str] = set()
    for rel, text in files.items():
        if not rel.endswith(".rs") or "mod" not in text:
            continue
        for m in test_modules(text):
            if m.inline:
                continue
            base = _module_dir(rel).joinpath(*m.path[:-1])
            name = m.path[-1]
            if m.path_attr:
                cands = [str(PurePosixPath(rel).parent / m.path_attr)]
            else:
                cands = [str(base / f"{name}.rs"), str(base / name / "mod.rs")]
            for c in cands:
                if c in files:
                    out.add(c)
            prefix = str(base / name) + "/"
            out.update(f for f in files if f.startswith(prefix))
    return out


def is_protected(rel: str, test_files: set[str]) -> bool:
    """Whether a changed file is restored to its starting content before grading."""
    p = PurePosixPath(rel)
    if rel in test_files:
        return True
    if not p.parts or p.parts[0] != "src" or p.suffix != ".rs":
        return True  # Cargo.toml, Cargo.lock, build.rs, tests/, benches/, .cargo/, ...
    return False


@dataclass
class GradedChanges:
    files: dict[str, str | None] = field(default_factory=dict)   # rel -> text (None: delete)
    ignored: list[str] = field(default_factory=list)             # protected files the agent changed
    tampering: list[str] = field(default_factory=list)           # reasons for no credit


def graded_changes(snapshot: dict[str, str | None], start: dict[str, str]) -> GradedChanges:
    """The part of the agent's changes that grading applies to a fresh broken-state workspace."""
    tests = test_only_files(start)
    out = GradedChanges()
    for rel in sorted(snapshot):
        text = snapshot[rel]
        if is_protected(rel, tests):
            out.ignored.append(rel)
            continue
        if text is None:
            out.files[rel] = None
            continue
        restored = restore_test_modules(text, start.get(rel))
        m = _MACRO_DEF.search(restored)
        if m and not (start.get(rel) and _MACRO_DEF.search(start[rel])):
            out.tampering.append(f"{rel} redefines the std macro {m.group(1)}!")
        out.files[rel] = restored
    return out
