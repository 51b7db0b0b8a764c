"""Mutation operators on real Rust source (the mini crate + the built-in corpus)."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from cargogym.tasks.corpus import builtin_crates, read_crate
from cargogym.tasks.minicrate import MINI_CRATE
from cargogym.tasks.mutate import Mutation, check_edit, check_mutation, excluded_files, find_mutations, order
from cargogym.tasks.operators import OPERATORS, Edit
from cargogym.tasks.syntax import has_errors, parse, shape, ranges_of_test_code, walk

PER_OPERATOR = 12


def _sources() -> list[tuple[str, dict[str, str]]]:
    out = [("minicalc", dict(MINI_CRATE))]
    for name, path in builtin_crates().items():
        try:
            out.append((name, read_crate(path)))
        except Exception:  # a crate being written right now
            continue
    return out


@pytest.fixture(scope="module")
def candidates() -> dict[str, list[tuple[dict[str, str], Mutation]]]:
    by_op: dict[str, list[tuple[dict[str, str], Mutation]]] = defaultdict(list)
    for _, files in _sources():
        for m in find_mutations(files, check=False):
            by_op[m.operator].append((files, m))
    return by_op


def test_there_are_at_least_ten_bug_operators():
    bug_ops = [op for op in OPERATORS.values() if op.intent == "bug"]
    assert len(bug_ops) >= 10
    assert {op.intent for op in OPERATORS.values()} == {"bug", "compile", "refactor", "implement"}


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_operator_mutates_real_rust_in_exactly_one_node(name, candidates):
    found = candidates.get(name, [])
    assert found, f"operator {name} found no site in the mini crate or the corpus"
    rng = random.Random(name)
    sample = found if len(found) <= PER_OPERATOR else rng.sample(found, PER_OPERATOR)
    valid = 0
    for files, m in sample:
        old = files[m.file].encode()
        new = m.apply_text(files[m.file]).encode()
        assert new != old
        # bytes outside the edited span are untouched
        assert new[:m.start] == old[:m.start]
        assert new[len(new) - (len(old) - m.end):] == old[m.end:]
        tree = parse(old)
        if not m.single_node:  # refactors that rename a local touch several identifiers
            assert m.intent == "refactor"
            valid += check_mutation(files, m) is None
            continue
        # the edited span is (or, for deletions with their line, contains) one node of the stated type
        node = tree.root_node.descendant_for_byte_range(m.node_start, m.node_end)
        while node is not None and (node.start_byte, node.end_byte) == (m.node_start, m.node_end) \
                and node.type != m.node_type and node.parent is not None \
                and (node.parent.start_byte, node.parent.end_byte) == (m.node_start, m.node_end):
            node = node.parent
        assert node is not None and (node.start_byte, node.end_byte) == (m.node_start, m.node_end), m
        if check_mutation(files, m) is None:
            valid += 1
            new_tree = parse(new)
            assert not has_errors(new_tree), m
            if m.single_node:
                old_shape = shape(tree, (m.node_start, m.node_end))
                if m.replacement:
                    assert old_shape == shape(new_tree, (m.start, m.start + len(m.replacement.encode())))
                else:
                    assert [s for s in old_shape if not s.endswith("<HOLE>")] == shape(new_tree)
    assert valid >= 1, f"no valid edit of {name} among {len(sample)} sampled"


def test_find_mutations_checked_are_all_valid():
    files = dict(MINI_CRATE)
    checked = find_mutations(files)
    unchecked = find_mutations(files, check=False)
    assert 0 < len(checked) <= len(unchecked)
    assert all(check_mutation(files, m) is None for m in checked)


def test_test_code_is_never_mutated():
    files = dict(MINI_CRATE)
    files["src/extra.rs"] = (
        "pub fn f(a: u32) -> u32 { if a > 2 { a + 1 } else { 0 } }\n"
        "#[cfg(test)]\nmod tests;\n"
    )
    files["src/extra/tests.rs"] = "use super::*;\n#[test]\nfn t() { assert!(f(3) == 4 && true); }\n"
    files["src/lib.rs"] += "pub mod extra;\n#[test]\nfn top_level() { assert_eq!(1 + 1, 2); }\n" \
                           "#[cfg(all(test, unix))]\nfn helper() -> bool { 1 < 2 }\n"
    assert {"tests/api.rs", "src/extra/tests.rs"} <= excluded_files(files)
    muts = find_mutations(files, check=False)
    assert any(m.file == "src/extra.rs" for m in muts)
    for m in muts:
        assert not m.file.startswith("tests/") and m.file != "src/extra/tests.rs"
        src = files[m.file].encode()
        ranges = ranges_of_test_code(parse(src), src)
        assert not any(s <= m.node_start and m.node_end <= e for s, e in ranges), m
    # every #[test] fn lies inside a test range
    for rel in ("src/stats.rs", "src/lib.rs"):
        src = files[rel].encode()
        tree = parse(src)
        ranges = ranges_of_test_code(tree, src)
        fns = [n for n in walk(tree.root_node) if n.type == "function_item"
               and n.prev_sibling is not None and b"test" in src[n.prev_sibling.start_byte:n.prev_sibling.end_byte]]
        assert fns and all(any(s <= f.start_byte and f.end_byte <= e for s, e in ranges) for f in fns)


def test_check_edit_rejects_unparseable_and_multi_node_edits():
    src = b"fn f(a: i32, b: i32) -> bool { a < b && b > 0 }\n"
    tree = parse(src)
    op = next(n for n in walk(tree.root_node) if n.type == "<")
    ok = Edit(op.start_byte, op.end_byte, "<=", "<", "", op.start_byte, op.end_byte)
    assert check_edit(src, ok) is None
    broken = Edit(op.start_byte, op.end_byte, "< <", "<", "", op.start_byte, op.end_byte)
    assert check_edit(src, broken) == "does not parse"
    # replacing `a < b` by `a < b || a` restructures more than the one node
    cmp_node = op.parent
    two = Edit(cmp_node.start_byte, cmp_node.end_byte + len(b" && b > 0"), "a", "binary_expression", "",
               cmp_node.start_byte, cmp_node.end_byte)
    assert check_edit(src, two) is not None
    assert check_edit(src, Edit(0, 0, "", "x", "", 0, 0)) == "no-op"


def test_order_is_deterministic_and_interleaves_operators():
    muts = find_mutations(dict(MINI_CRATE), check=False)
    a, b = order(muts, 7), order(muts, 7)
    assert a == b and sorted(a, key=lambda m: m.key) == sorted(muts, key=lambda m: m.key)
    assert order(muts, 8) != a
    n_ops = len({m.operator for m in muts})
    assert len({m.operator for m in a[:n_ops]}) == n_ops


def test_specific_rewrites():
    src = "fn f(v: &[u8]) -> usize { if v.len() == 0 { return 0; } v.len() }\n"
    muts = find_mutations({"src/lib.rs": src}, check=True)
    by = defaultdict(list)
    for m in muts:
        by[m.operator].append(m.replacement)
    assert "!=" in by["flip_comparison"]
    assert "v.is_empty()" in by["len_zero_to_is_empty"]
    assert "!(v.len() == 0)" in by["negate_condition"]
    assert "1" in by["off_by_one"]
    assert "v.len();" in by["tail_semicolon"]
