"""Rust syntax helpers on top of tree-sitter-rust: parsing, test-code regions, tree shape.

Everything here is pure (text in, data out) and works on UTF-8 *bytes*: tree-sitter reports byte
offsets, so mutations are expressed as byte ranges of the encoded source.
"""

from __future__ import annotations

import functools
from pathlib import PurePosixPath
from typing import Iterator

import tree_sitter_rust
from tree_sitter import Language, Node, Parser, Tree

# Items that can carry attributes (#[test], #[cfg(test)]) and so may be test code.
_ITEM_TYPES = {
    "function_item", "mod_item", "impl_item", "struct_item", "enum_item", "use_declaration",
    "const_item", "static_item", "trait_item", "macro_definition", "type_item", "union_item",
    "extern_crate_declaration", "foreign_mod_item", "function_signature_item",
}
_TEST_ATTRS = ("test", "should_panic", "bench")


@functools.lru_cache(maxsize=1)
def rust_language() -> Language:
    return Language(tree_sitter_rust.language())


def parse(src: bytes | str) -> Tree:
    """Parse Rust source (a fresh Parser per call: parsers are not thread-safe)."""
    if isinstance(src, str):
        src = src.encode()
    return Parser(rust_language()).parse(src)


def has_errors(tree: Tree) -> bool:
    """True when the tree contains ERROR or MISSING nodes."""
    return tree.root_node.has_error


def text(node: Node, src: bytes) -> str:
    return src[node.start_byte:node.end_byte].decode()


def walk(node: Node) -> Iterator[Node]:
    """All nodes below (and including) ``node`` in pre-order."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def attributes_of(item: Node, src: bytes) -> list[str]:
    """The attribute texts (``cfg(test)``, ``test``) directly preceding an item."""
    attrs: list[str] = []
    prev = item.prev_sibling
    while prev is not None and prev.type in ("attribute_item", "line_comment", "block_comment"):
        if prev.type == "attribute_item":
            for c in prev.named_children:
                if c.type == "attribute":
                    attrs.append(" ".join(text(c, src).split()))
        prev = prev.prev_sibling
    return attrs


def is_test_attr(attr: str) -> bool:
    """``#[test]``, ``#[should_panic]``, ``#[cfg(test)]`` and ``cfg(all(test, ..))``-style gates."""
    compact = attr.replace(" ", "")
    if compact in _TEST_ATTRS or compact.startswith("should_panic") or compact.endswith("::test"):
        return True
    if compact.startswith("cfg(") and "not(test" not in compact:
        inner = compact[4:-1]
        return inner == "test" or inner.startswith(("all(test,", "any(test")) or ",test)" in inner or "(test," in inner
    return False


def ranges_of_test_code(tree: Tree, src: bytes) -> list[tuple[int, int]]:
    """Byte ranges of test code: items gated by ``#[cfg(test)]`` or marked ``#[test]`` etc."""
    ranges: list[tuple[int, int]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        for child in node.children:
            if child.type in _ITEM_TYPES and any(is_test_attr(a) for a in attributes_of(child, src)):
                ranges.append((child.start_byte, child.end_byte))
                continue
            if child.type in ("mod_item", "declaration_list", "impl_item", "trait_item"):
                stack.append(child)
    return sorted(ranges)


def cfg_test_module_files(tree: Tree, src: bytes, rel_path: str) -> list[str]:
    """Files of out-of-line test modules (``#[cfg(test)] mod tests;``) declared in ``rel_path``."""
    out: list[str] = []
    p = PurePosixPath(rel_path)
    if p.name in ("lib.rs", "main.rs", "mod.rs"):
        base = p.parent
    else:
        base = p.parent / p.stem
    for child in tree.root_node.children:
        if child.type != "mod_item" or child.child_by_field_name("body") is not None:
            continue
        if not any(is_test_attr(a) for a in attributes_of(child, src)):
            continue
        name = child.child_by_field_name("name")
        if name is None:
            continue
        n = text(name, src)
        out += [str(base / f"{n}.rs"), str(base / n / "mod.rs")]
    return out


def in_ranges(node: Node, ranges: list[tuple[int, int]]) -> bool:
    return any(s <= node.start_byte and node.end_byte <= e for s, e in ranges)


def enclosing(node: Node, *types: str, stop: tuple[str, ...] = ()) -> Node | None:
    """The nearest ancestor of one of ``types``; None when a ``stop`` type comes first."""
    p = node.parent
    while p is not None:
        if p.type in types:
            return p
        if p.type in stop:
            return None
        p = p.parent
    return None


def shape(tree: Tree, hole: tuple[int, int] | None = None) -> list[str]:
    """A canonical pre-order listing of node types, with the outermost node spanning exactly
    ``hole`` (a byte range) collapsed to ``"<HOLE>"``; an empty hole with no node is omitted.

    Two sources differ in exactly one node when their shapes, each with its changed span as the
    hole, are equal.
    """
    out: list[str] = []
    stack: list[tuple[Node, int]] = [(tree.root_node, 0)]
    while stack:
        node, depth = stack.pop()
        if hole is not None and (node.start_byte, node.end_byte) == hole and hole[0] != hole[1]:
            out.append(f"{depth}:<HOLE>")
            continue
        if node.start_byte == node.end_byte and node.type != "source_file":
            # zero-width nodes (MISSING) are never expected; keep them visible
            out.append(f"{depth}:{node.type}:zero")
            continue
        out.append(f"{depth}:{node.type}")
        for child in reversed(node.children):
            stack.append((child, depth + 1))
    return out
