"""Find candidate mutations in a crate's non-test Rust sources (pure: file texts in, mutations out).

A :class:`Mutation` is one operator's edit of one file. :func:`find_mutations` proposes every
edit of every operator, drops those in test code, and keeps only edits whose result still parses
and — unless the edit is a declared multi-node rename (``single_node=False``) — differs from the
original in exactly one syntax node (:func:`check_edit`). :func:`order`
shuffles candidates deterministically for a seed, interleaving operators so that each kind gets
validated early.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Iterable

from cargogym.tasks.corpus import is_test_path
from cargogym.tasks.operators import OPERATORS, Edit, Operator
from cargogym.tasks.syntax import has_errors, in_ranges, parse, shape, cfg_test_module_files, ranges_of_test_code, walk


@dataclass(frozen=True)
class Mutation:
    """One edit of one file: bytes ``start:end`` of ``file`` become ``replacement``."""

    operator: str
    intent: str
    file: str
    start: int
    end: int
    replacement: str
    node_type: str
    line: int
    note: str
    node_start: int = -1
    node_end: int = -1
    single_node: bool = True

    @property
    def key(self) -> str:
        """Stable identity of the edit (file + range + replacement)."""
        h = hashlib.sha256(f"{self.file}\0{self.start}\0{self.end}\0{self.replacement}".encode())
        return h.hexdigest()[:16]

    def apply_text(self, original: str) -> str:
        b = original.encode()
        return (b[:self.start] + self.replacement.encode() + b[self.end:]).decode()

    def apply(self, files: dict[str, str]) -> dict[str, str]:
        """A copy of ``files`` with this mutation applied."""
        out = dict(files)
        out[self.file] = self.apply_text(files[self.file])
        return out

    def to_dict(self) -> dict:
        return asdict(self)


def check_edit(src: bytes, edit: Edit) -> str | None:
    """None when ``edit`` keeps ``src`` parseable and (unless ``edit.single_node`` is False) changes
    exactly one node; else the reason."""
    new = src[:edit.start] + edit.replacement.encode() + src[edit.end:]
    if new == src:
        return "no-op"
    new_tree = parse(new)
    if has_errors(new_tree):
        return "does not parse"
    if not edit.single_node:
        return None
    old_tree = parse(src)
    old_shape = shape(old_tree, (edit.node_start, edit.node_end))
    if edit.replacement == "" or edit.node_start < 0:
        if "<HOLE>" not in "".join(old_shape):
            return "deleted span is not a node"
        old_shape = [s for s in old_shape if not s.endswith(":<HOLE>")]
        return None if old_shape == shape(new_tree) else "deletion changed more than one node"
    if edit.start != edit.node_start or edit.end != edit.node_end:
        return "replacement span is not the node span"
    new_hole = (edit.start, edit.start + len(edit.replacement.encode()))
    return None if old_shape == shape(new_tree, new_hole) else "changed more than one node"


def check_mutation(files: dict[str, str], m: Mutation) -> str | None:
    """:func:`check_edit` for a :class:`Mutation` of ``files`` (None when valid)."""
    if m.file not in files:
        return f"no file {m.file}"
    edit = Edit(m.start, m.end, m.replacement, m.node_type, m.note, m.node_start, m.node_end, m.single_node)
    return check_edit(files[m.file].encode(), edit)


def _line_of(src: bytes, offset: int) -> int:
    return src.count(b"\n", 0, offset) + 1


def excluded_files(files: dict[str, str]) -> set[str]:
    """Files that are test code: ``tests/``, ``benches/``, ``examples/`` and out-of-line test modules."""
    out = {f for f in files if is_test_path(f)}
    for rel, txt in files.items():
        if rel.endswith(".rs") and rel not in out:
            src = txt.encode()
            out |= set(cfg_test_module_files(parse(src), src, rel)) & set(files)
    return out


def find_mutations(files: dict[str, str], operators: Iterable[Operator] | None = None,
                   check: bool = True) -> list[Mutation]:
    """Every valid edit of every operator in the crate's non-test ``.rs`` files, in source order."""
    ops = list(operators) if operators is not None else list(OPERATORS.values())
    by_type: dict[str, list[Operator]] = defaultdict(list)
    for op in ops:
        for t in op.node_types:
            by_type[t].append(op)
    skip = excluded_files(files)
    out: list[Mutation] = []
    seen: set[tuple[str, int, int, str]] = set()
    for rel in sorted(files):
        if not rel.endswith(".rs") or rel in skip:
            continue
        src = files[rel].encode()
        tree = parse(src)
        if has_errors(tree):
            continue
        tests = ranges_of_test_code(tree, src)
        for node in walk(tree.root_node):
            handlers = by_type.get(node.type)
            if not handlers or in_ranges(node, tests):
                continue
            for op in handlers:
                for edit in op.fn(node, src):
                    ident = (rel, edit.start, edit.end, edit.replacement)
                    if ident in seen:
                        continue
                    seen.add(ident)
                    if check and check_edit(src, edit) is not None:
                        continue
                    out.append(Mutation(op.name, op.intent, rel, edit.start, edit.end, edit.replacement,
                                        edit.node_type, _line_of(src, edit.start), edit.note,
                                        edit.node_start, edit.node_end, edit.single_node))
    return out


def order(mutations: list[Mutation], seed: int, salt: str = "") -> list[Mutation]:
    """Deterministic shuffle for ``seed`` that interleaves operators (round-robin in a shuffled
    operator order), so that rare operators are not starved by frequent ones."""
    rng = random.Random(f"{seed}:{salt}")
    by_op: dict[str, list[Mutation]] = defaultdict(list)
    for m in sorted(mutations, key=lambda m: (m.operator, m.file, m.start, m.end, m.replacement)):
        by_op[m.operator].append(m)
    names = sorted(by_op)
    for n in names:
        rng.shuffle(by_op[n])
    rng.shuffle(names)
    out: list[Mutation] = []
    depth = 0
    while len(out) < len(mutations):
        for n in names:
            if depth < len(by_op[n]):
                out.append(by_op[n][depth])
        depth += 1
    return out
