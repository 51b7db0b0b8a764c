"""Which parts of a crate are tests, how to put them back before grading, and what agent code
gets no credit.

Agents weaken tests (edit, delete, ``#[ignore]``). Before grading, the agent's changes are
filtered (:func:`graded_changes`): only ``src/**/*.rs`` files that are not test-only modules
count; inside those, every ``#[cfg(test)] mod`` (inline or out-of-line declaration) is replaced
by the one of the starting state (:func:`restore_test_modules`, tree-sitter based), and agent-added
test modules are dropped; the result is re-parsed and every restored module must be there,
intact and without extra attributes (:func:`check_restored`); each test module the agent edited,
deleted or added is named in a note (:func:`test_module_changes`). Lints the agent silenced with a
new ``allow``/``expect`` (:func:`suppressed_lints`) are listed so that ``clippy_clean`` is not paid
for them (the attributes themselves stay allowed). Test files (``tests/``, ``benches/``,
``examples/``), ``Cargo.toml``, ``Cargo.lock``, ``build.rs``, config files and files whose names are
not plain relative paths keep their starting content.

**Code policy** (:func:`policy_violations`, pure): library code runs inside the test processes, so
it can forge the harness's output and exit, special-case the tests, or change what the restored
tests mean. A graded file is compared with the task's starting version of the same file (token
counts from the tree-sitter parse; comments and string literals ignored, macro token trees
included, ``r#`` stripped). The graded report is INVALID (no credit, a note naming the construct)
when the agent INTRODUCED (graded count > starting count, so pre-existing uses are fine) any of:

- process control: ``std::process`` (``exit``, ``abort``, ``exec``, ``Command``), ``CommandExt``;
- harness introspection and raw I/O: ``std::env`` (incl. ``env!``), ``std::thread``, ``std::fs``,
  ``std::os``, ``std::net``, ``std::panic`` (``Location``), ``std::backtrace`` — module names count
  in a path (next to ``::``) or a ``use``, so aliases and glob imports are caught —, ``args_os``,
  ``var_os``, ``current_exe``, ``set_hook``, ``stdout``/``stderr``/``stdin``;
- ``unsafe``, ``extern``, ``asm!``/``global_asm!``, ``include!``/``include_str!``/``include_bytes!``,
  ``option_env!``, ``cfg!``;
- any attribute outside a small allowlist (``derive``, ``allow``/``warn``/``deny``/``forbid``/``expect``,
  ``doc``, ``inline``, ``must_use``, ``cold``, ``deprecated``, ``non_exhaustive``, ``repr``,
  ``rustfmt::``/``clippy::``/``diagnostic::``), also inside macros: e.g. ``cfg``, ``cfg_attr``,
  ``path``, ``test``, ``ignore``, ``should_panic``, ``link_section``, ``no_mangle``, ``export_name``,
  ``used``, ``track_caller``;
- a macro definition (a new macro could assemble the above from its parameters), reported as a
  redefinition for std/test macro names (``macro_rules! assert_eq``, ``r#assert_eq``, comments in
  between); a rename ``as assert_eq``; an item (``impl``, ``fn``, ``struct``, ...) inside a macro's
  token tree;
- a manual ``impl PartialEq/Eq/PartialOrd/Ord/Deref/DerefMut``; a module-level item named like a
  std prelude item (``type Result``, ``enum X { Some }``, ``use a as Ok``), which would shadow it
  in the tests' ``use super::*``;
- a changed signature of a ``pub`` fn of the starting crate (keyed by impl type and name, crate-wide).

Gold patches revert single-node mutations or write a ``todo!()`` body back, so they introduce
none of these. Limits: a changed *body* of an existing trait impl (e.g. an always-true ``eq``),
test detection by other means (timing, stack depth) and doc comments (doc-tests of crates that
enable them are not restored) are not covered here.
"""

from __future__ import annotations

import functools

import re
import threading
from dataclasses import dataclass, field
from pathlib import PurePosixPath

_CFG_TEST = re.compile(rb"^#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]$")
_PATH_ATTR = re.compile(rb"^#\s*\[\s*path\s*=\s*\"([^\"]+)\"\s*\]$")
# names of std's (and the test harness's) macros: a macro of that name shadows them in the tests
STD_MACROS = frozenset((
    "assert", "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq", "debug_assert_ne",
    "assert_matches", "debug_assert_matches", "panic", "unreachable", "todo", "unimplemented",
    "matches", "format", "format_args", "print", "println", "eprint", "eprintln", "write",
    "writeln", "vec", "dbg", "cfg", "concat", "stringify", "include", "include_str",
    "include_bytes", "env", "option_env", "line", "column", "file", "module_path",
    "compile_error", "test", "bench"))
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


def check_restored(text: str, start_text: str | None) -> list[str]:
    """Problems of a :func:`restore_test_modules` result: each test module of ``start_text`` (whose
    parent module is still there) must appear in ``text`` exactly as it was, with no extra
    attribute in front of it (e.g. a dangling ``#[cfg(any())]`` the module was appended after)."""
    if not start_text:
        return []
    s = start_text.encode()
    want: dict[tuple[str, ...], list[bytes]] = {}
    for m in _scan(s)[0]:
        want.setdefault(m.path, []).append(s[m.start:m.end])
    if not want:
        return []
    t = text.encode()
    mods, containers = _scan(t)
    got: dict[tuple[str, ...], list[bytes]] = {}
    for m in mods:
        got.setdefault(m.path, []).append(t[m.start:m.end])
    return [f"the test module `{'::'.join(path)}` is not intact after restoring it (extra attributes "
            "or items around it)" for path, texts in want.items()
            if path[:-1] in containers and sorted(got.get(path, [])) != sorted(texts)]


def test_module_changes(agent_text: str, start_text: str | None) -> list[tuple[str, str]]:
    """``(module path, how)`` for each test module of ``agent_text`` that differs from the one of
    ``start_text`` at the same module path; ``how`` is ``"edited"``, ``"deleted"``, ``"added"`` or
    ``"orphaned"`` (deleted with its parent module, so it cannot be restored). Pure."""
    a = agent_text.encode()
    a_mods, containers = _scan(a)
    s = (start_text or "").encode()
    s_mods = _scan(s)[0] if start_text else []
    got: dict[tuple[str, ...], list[bytes]] = {}
    want: dict[tuple[str, ...], list[bytes]] = {}
    for m in a_mods:
        got.setdefault(m.path, []).append(a[m.start:m.end])
    for m in s_mods:
        want.setdefault(m.path, []).append(s[m.start:m.end])
    out: list[tuple[str, str]] = []
    for path in sorted(set(got) | set(want)):
        if sorted(got.get(path, [])) == sorted(want.get(path, [])):
            continue
        if path not in want:
            how = "added"
        elif path not in got:
            how = "deleted" if path[:-1] in containers else "orphaned"
        else:
            how = "edited"
        out.append(("::".join(path), how))
    return out


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
    if rel in test_files or not plain_rel(rel):
        return True
    if not p.parts or p.parts[0] != "src" or p.suffix != ".rs":
        return True  # Cargo.toml, Cargo.lock, build.rs, tests/, benches/, .cargo/, ...
    return False


def plain_rel(rel: str) -> bool:
    """Whether ``rel`` is a plain relative POSIX path (no ``..``/``.``/empty parts, backslashes,
    control characters); other names (e.g. ``src/..\\x.rs`` made by test-time code) are not graded."""
    return (bool(rel) and rel.isprintable() and "\\" not in rel and not rel.startswith("/")
            and all(part not in ("", ".", "..") for part in rel.split("/")))


# -- code policy (module docstring) ----------------------------------------------------------------
_NAMES = {  # names that count wherever they occur (distinctive: no crate names its own items so)
    **{n: f"process control (`{n}`)" for n in ("CommandExt", "exit_process", "_exit")},
    **{n: f"harness introspection (`{n}`)" for n in ("args_os", "var_os", "vars_os", "current_exe",
                                                     "set_hook", "take_hook", "set_output_capture")},
    **{n: f"raw process I/O (`{n}`)" for n in ("stdout", "stderr", "stdin")},
    "unsafe": "`unsafe` code", "extern": "`extern` (FFI / linkage)",
}
_PATH_NAMES = {  # common words: counted in a path (next to ``::``) or a ``use`` only
    **{n: f"process control (`{n}`)" for n in ("exit", "abort", "exec", "Command")},
    **{n: f"harness introspection (`{n}`)" for n in ("Location", "Backtrace")},
}
_MACROS = ("asm", "global_asm", "naked_asm", "include", "include_str", "include_bytes", "option_env")
_MODULES = ("process", "env", "thread", "fs", "os", "net", "panic", "backtrace")  # in a path or a use
_ALLOWED_ATTRS = frozenset(("derive", "allow", "warn", "deny", "forbid", "expect", "doc", "inline",
                            "must_use", "cold", "deprecated", "non_exhaustive", "repr", "rustfmt",
                            "clippy", "diagnostic"))
_CMP_TRAITS = frozenset(("PartialEq", "Eq", "PartialOrd", "Ord", "Deref", "DerefMut"))
# std prelude names (and primitives): a module-level item of that name shadows them in the tests'
# ``use super::*`` (e.g. ``pub type Result<T, E> = AlwaysOk<T, E>;``)
_PRELUDE = frozenset((
    "Option", "Some", "None", "Result", "Ok", "Err", "String", "Vec", "Box", "ToString", "ToOwned",
    "Clone", "Copy", "Send", "Sync", "Sized", "Unpin", "Drop", "Fn", "FnMut", "FnOnce", "From", "Into",
    "TryFrom", "TryInto", "Iterator", "IntoIterator", "Extend", "DoubleEndedIterator",
    "ExactSizeIterator", "FromIterator", "Default", "Eq", "PartialEq", "Ord", "PartialOrd", "AsRef",
    "AsMut", "Debug", "Hash", "drop", "std", "core", "alloc", "bool", "char", "str", "f32", "f64",
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize"))
_ITEMS = frozenset(("struct_item", "enum_item", "union_item", "type_item", "function_item", "const_item",
                    "static_item", "trait_item", "mod_item", "enum_variant"))
_MACRO_ITEM_KEYWORDS = frozenset(("impl", "fn", "struct", "enum", "union", "trait", "mod", "static", "type"))
_OPAQUE = frozenset(("line_comment", "block_comment", "string_literal", "raw_string_literal", "char_literal"))
_TOKEN_TREES = frozenset(("token_tree", "token_tree_pattern", "token_repetition", "token_repetition_pattern"))
_IDENTS = frozenset(("identifier", "type_identifier", "field_identifier", "primitive_type"))


def _tokens(root, src: bytes) -> list[tuple[str, str, bool, bool]]:
    """(node type, text without ``r#``, inside a ``use``, inside a macro token tree) of every leaf
    under ``root``; comments and string/char literals are skipped."""
    out: list[tuple[str, str, bool, bool]] = []
    stack = [(root, False, False)]
    while stack:
        node, in_use, in_tt = stack.pop()
        t = node.type
        if t in _OPAQUE:
            continue
        if node.child_count == 0:
            text = src[node.start_byte:node.end_byte].decode(errors="replace")
            out.append((t, text[2:] if text.startswith("r#") else text, in_use, in_tt))
            continue
        in_use = in_use or t == "use_declaration"
        in_tt = in_tt or t in _TOKEN_TREES
        stack.extend((c, in_use, in_tt) for c in reversed(node.children))
    return out


def _trait_name(node, src: bytes) -> str:
    """``PartialEq`` of ``PartialEq<i64>`` / ``std::cmp::PartialEq`` / ``PartialEq``."""
    while node is not None and node.type in ("generic_type", "scoped_type_identifier", "scoped_identifier"):
        node = node.child_by_field_name("type" if node.type == "generic_type" else "name")
    return src[node.start_byte:node.end_byte].decode(errors="replace") if node is not None else ""


def _memoised_by_text(fn):
    """``fn(text)`` (a pure dict- or list-returning analysis of one source text) memoised by text:
    the same start files are checked in every episode of a task. Each call gets a fresh copy."""
    @functools.lru_cache(maxsize=1024)
    def frozen(text: str) -> tuple:
        result = fn(text)
        return (dict, tuple(result.items())) if isinstance(result, dict) else (list, tuple(result))

    @functools.wraps(fn)
    def wrapper(text: str):
        kind, items = frozen(text)
        return kind(items)

    return wrapper


def _walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


@_memoised_by_text
def code_constructs(text: str) -> dict[str, int]:
    """How often ``text`` uses each construct the code policy watches (phrase -> count); pure."""
    src = text.encode()
    tree = _parser().parse(src)
    toks = _tokens(tree.root_node, src)
    out: dict[str, int] = {}

    def add(what: str) -> None:
        out[what] = out.get(what, 0) + 1

    n = len(toks)
    for i, (kind, tx, in_use, in_tt) in enumerate(toks):
        prev = toks[i - 1][1] if i else ""
        nxt = toks[i + 1][1] if i + 1 < n else ""
        in_path = in_use or prev == "::" or nxt == "::"
        if tx in _NAMES and (kind in _IDENTS or kind == tx):
            add(_NAMES[tx])
        if tx in _PATH_NAMES and kind in _IDENTS and in_path:
            add(_PATH_NAMES[tx])
        if tx in _MACROS and nxt == "!":
            add(f"the macro `{tx}!`")
        if tx in _MODULES and kind in _IDENTS and (in_path or (tx == "env" and nxt == "!")):
            add(f"a use of `std::{tx}`")
        if tx == "cfg" and nxt == "!":
            add("conditional compilation (`cfg!`)")
        if tx == "#":  # an attribute, parsed or inside a macro: # [!] [ [::] name (first path segment)
            j = i + 1 + (nxt == "!")
            if j + 1 < n and toks[j][1] == "[":
                j += 1 + (toks[j + 1][1] == "::")
                name = toks[j][1] if j < n else ""
                if name == "unsafe" and j + 2 < n and toks[j + 1][1] == "(":
                    name = toks[j + 2][1]
                if name not in _ALLOWED_ATTRS:
                    add(f"the attribute `#[{name}]`")
        if tx == "macro_rules!" or (tx == "macro_rules" and nxt == "!"):
            j = i + 1 + (tx == "macro_rules")
            name = toks[j][1] if j < n else ""
            if name in STD_MACROS:
                add(f"a macro that redefines the std macro `{name}!`")
            else:  # a new macro could assemble any of the above from its parameters
                add(f"a new macro (`macro_rules! {name}`)")
        if tx == "as" and nxt in STD_MACROS:
            add(f"a rename to a std macro name (`as {nxt}`)")
        if in_tt and tx in _MACRO_ITEM_KEYWORDS and kind == tx:
            add(f"`{tx}` generated by a macro")
    for node in _walk(tree.root_node):
        if node.type == "impl_item":
            trait = node.child_by_field_name("trait")
            name = _trait_name(trait, src)
            if name in _CMP_TRAITS:
                add(f"a manual `impl {name}`")
        elif node.type in _ITEMS or node.type == "use_as_clause":
            if node.type != "enum_variant" and node.parent is not None and node.parent.type == "declaration_list" \
                    and node.parent.parent is not None and node.parent.parent.type != "mod_item":
                continue  # an associated item (impl / trait member) shadows nothing
            name_node = node.child_by_field_name("alias" if node.type == "use_as_clause" else "name")
            name = src[name_node.start_byte:name_node.end_byte].decode(errors="replace") if name_node else ""
            name = name[2:] if name.startswith("r#") else name
            if name in _PRELUDE:
                add(f"an item named like the std prelude's `{name}`")
    return out


_LINT_SUPPRESSORS = frozenset(("allow", "expect"))


@_memoised_by_text
def lint_suppressions(text: str) -> dict[str, int]:
    """How often ``text`` silences each lint with ``#[allow(..)]`` / ``#[expect(..)]`` (also ``#![..]``
    and inside macros): lint path (``clippy::all``, ``warnings``, ``dead_code``) -> count; pure."""
    src = text.encode()
    toks = [t[1] for t in _tokens(_parser().parse(src).root_node, src)]
    out: dict[str, int] = {}
    n = len(toks)
    for i, tx in enumerate(toks):
        if tx != "#":
            continue
        j = i + 1 + (i + 1 < n and toks[i + 1] == "!")
        if not (j + 2 < n and toks[j] == "[" and toks[j + 1] in _LINT_SUPPRESSORS and toks[j + 2] == "("):
            continue
        depth, lint, k = 1, "", j + 3
        while k < n and depth:
            t = toks[k]
            if t in ("(", "[", "{"):
                depth += 1
            elif t in (")", "]", "}"):
                depth -= 1
            if depth == 1 and t not in (",", "=") and not (k + 1 < n and toks[k + 1] == "="):
                lint += t
            if (depth == 0 or (depth == 1 and t == ",")) and lint:
                out[lint] = out.get(lint, 0) + 1
                lint = ""
            k += 1
    return out


def suppressed_lints(graded: str, original: str | None) -> list[str]:
    """Lints that ``graded`` silences (``allow``/``expect``) more often than ``original``; pure."""
    now = lint_suppressions(graded)
    before = lint_suppressions(original) if original else {}
    return [lint for lint, k in now.items() if k > before.get(lint, 0)]


@_memoised_by_text
def fn_signatures(text: str) -> list[tuple[tuple[str, str], str, bool]]:
    """``((owner, name), signature, public)`` of every fn item outside macros: owner is
    ``"impl <type>"``, ``"trait <name>"`` or ``""``; the signature is its tokens without the body
    and the visibility. Trait-impl methods are left out (the trait fixes their signatures)."""
    src = text.encode()
    out: list[tuple[tuple[str, str], str, bool]] = []
    for node in _walk(_parser().parse(src).root_node):
        if node.type not in ("function_item", "function_signature_item"):
            continue
        name = node.child_by_field_name("name")
        if name is None:
            continue
        owner, public, p = "", False, node.parent
        while p is not None and p.type not in ("impl_item", "trait_item", "function_item"):
            p = p.parent
        if p is not None and p.type == "impl_item":
            if p.child_by_field_name("trait") is not None:
                continue
            typ = p.child_by_field_name("type")
            owner = "impl " + (" ".join(t[1] for t in _tokens(typ, src)) if typ is not None else "?")
        elif p is not None and p.type == "trait_item":
            tname = p.child_by_field_name("name")
            owner = "trait " + (src[tname.start_byte:tname.end_byte].decode(errors="replace") if tname else "?")
            public = any(c.type == "visibility_modifier" for c in p.children)
        body = node.child_by_field_name("body")
        parts: list[str] = []
        for c in node.children:
            if c.type == "visibility_modifier":
                public = True
                continue
            if body is not None and c == body:
                continue
            parts += [t[1] for t in _tokens(c, src)]
        out.append(((owner, src[name.start_byte:name.end_byte].decode(errors="replace")), " ".join(parts), public))
    return out


def public_signatures(files: dict[str, str]) -> dict[tuple[str, str], set[str]]:
    """``(owner, name) -> signatures`` of the public fns of ``files`` (rel -> Rust source)."""
    out: dict[tuple[str, str], set[str]] = {}
    for text in files.values():
        for key, sig, public in fn_signatures(text):
            if public:
                out.setdefault(key, set()).add(sig)
    return out


def policy_violations(graded: str, original: str | None,
                      public: dict[tuple[str, str], set[str]] | None = None) -> list[str]:
    """What ``graded`` introduces over ``original`` (the task's starting text of the same file;
    None for a new file) that the code policy forbids, as phrases; ``public``: the starting
    crate's :func:`public_signatures` (a changed signature of one of them is reported). Pure."""
    now = code_constructs(graded)
    before = code_constructs(original) if original else {}
    found = [what for what, k in now.items() if k > before.get(what, 0)]
    if public:
        found += [f"a changed signature of the public fn `{key[1]}`" for key, sig, _ in fn_signatures(graded)
                  if key in public and sig not in public[key]]
    return list(dict.fromkeys(found))


@dataclass
class GradedChanges:
    files: dict[str, str | None] = field(default_factory=dict)   # rel -> text (None: delete)
    ignored: list[str] = field(default_factory=list)             # protected files the agent changed
    tampering: list[str] = field(default_factory=list)           # reasons for no credit
    restored: list[str] = field(default_factory=list)            # notes: test modules put back / dropped
    lints_suppressed: list[str] = field(default_factory=list)    # "rel: lint" silenced by the agent


def graded_changes(snapshot: dict[str, str | None], start: dict[str, str]) -> GradedChanges:
    """The part of the agent's changes that grading applies to a fresh broken-state workspace."""
    tests = test_only_files(start)
    public = public_signatures({r: t for r, t in start.items() if r.endswith(".rs") and not is_protected(r, tests)})
    out = GradedChanges()
    for rel in sorted(snapshot):
        text = snapshot[rel]
        if is_protected(rel, tests):
            out.ignored.append(rel)
            continue
        if text is None:
            out.files[rel] = None
            gone = [m.path for m in test_modules(start.get(rel) or "")] if rel.endswith(".rs") else []
            if gone:
                out.restored.append(f"{rel} was deleted with its test module(s) "
                                    f"{', '.join('::'.join(p) for p in gone)}: their tests are missing")
            continue
        if rel.endswith(".rs"):
            for path, how in test_module_changes(text, start.get(rel)):
                what = {"edited": "restored test module", "deleted": "restored deleted test module",
                        "added": "dropped test module added by the agent",
                        "orphaned": "could not restore (its parent module is gone) test module"}[how]
                out.restored.append(f"{what} {rel}::{path} (agent edits to tests are not graded)")
            out.lints_suppressed += [f"{rel}: {lint}" for lint in suppressed_lints(text, start.get(rel))]
        restored = restore_test_modules(text, start.get(rel))
        out.tampering += [f"{rel}: {p}" for p in check_restored(restored, start.get(rel))]
        if rel.endswith(".rs"):
            for what in policy_violations(restored, start.get(rel), public):
                out.tampering.append(f"{rel} introduces {what}, which a bug fix does not need "
                                     "(code policy)")
        out.files[rel] = restored
    return out
