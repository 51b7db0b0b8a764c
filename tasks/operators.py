"""Mutation operators over the tree-sitter-rust syntax tree.

An operator looks at one node and proposes edits. Every bug, compile and implement edit replaces
exactly one node's text (or deletes one node); the one exception is the ``rename_local`` refactor
(clean review diffs), which renames a ``let`` binding and all its later uses, so it changes several
identifier nodes in one span (its edits say ``single_node=False``). Operators carry an ``intent``:

- ``bug``: a plausible semantic bug (validated: builds, breaks ≥ 1 test, keeps ≥ 1 passing);
- ``compile``: a change meant to fail ``cargo check`` (the compile_error family);
- ``refactor``: a behaviour-preserving rewrite (clean diffs of the review family; validated by
  building and passing every test);
- ``implement``: a function body replaced by ``todo!()``.

Operators are pure: ``node, src -> [Edit]``. :func:`cargogym.tasks.mutate.find_mutations` walks a
file, skips test code, applies every operator and keeps edits whose result still parses and
(for single-node edits) differs from the original in exactly one node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

from tree_sitter import Node

from cargogym.tasks.syntax import enclosing, text, walk

INTENTS = ("bug", "compile", "refactor", "implement")


@dataclass(frozen=True)
class Edit:
    """Replace bytes ``start:end`` of the source with ``replacement``.

    ``node_start:node_end`` is the span of the one node the edit changes (for a deletion that also
    swallows surrounding whitespace it is narrower than ``start:end``). ``single_node`` is False
    only for refactors that touch several nodes (renaming a local).
    """

    start: int
    end: int
    replacement: str
    node_type: str
    note: str
    node_start: int = -1
    node_end: int = -1
    single_node: bool = True


@dataclass(frozen=True)
class Operator:
    name: str
    intent: str
    node_types: tuple[str, ...]
    fn: Callable[[Node, bytes], Iterable[Edit]]
    doc: str


OPERATORS: dict[str, Operator] = {}


def operator(name: str, intent: str, *node_types: str):
    def deco(fn: Callable[[Node, bytes], Iterable[Edit]]):
        OPERATORS[name] = Operator(name, intent, tuple(node_types), fn, (fn.__doc__ or "").strip())
        return fn

    return deco


def _replace(node: Node, new: str, note: str) -> Edit:
    return Edit(node.start_byte, node.end_byte, new, node.type, note, node.start_byte, node.end_byte)


def _delete_line(node: Node, src: bytes, note: str) -> Edit:
    """Delete ``node``; when it sits alone on its line(s), delete the whole line(s)."""
    start, end = node.start_byte, node.end_byte
    line_start = src.rfind(b"\n", 0, start) + 1
    line_end = src.find(b"\n", end)
    line_end = len(src) if line_end < 0 else line_end
    if not src[line_start:start].strip() and not src[end:line_end].strip():
        start, end = line_start, min(len(src), line_end + 1)
    return Edit(start, end, "", node.type, note, node.start_byte, node.end_byte)


def _op_token(node: Node) -> Node | None:
    op = node.child_by_field_name("operator")
    if op is not None:
        return op
    for c in node.children:
        if not c.is_named:
            return c
    return None


def _swap_token(node: Node, table: dict[str, str], what: str) -> Iterable[Edit]:
    op = _op_token(node)
    if op is None or op.type not in table:
        return []
    new = table[op.type]
    return [Edit(op.start_byte, op.end_byte, new, op.type, f"{what} `{op.type}` -> `{new}`",
                 op.start_byte, op.end_byte)]


# ------------------------------------------------------------------------------------------------
# bug operators
# ------------------------------------------------------------------------------------------------
_CMP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
_ARITH = {"+": "-", "-": "+", "*": "/", "/": "*", "%": "/", "+=": "-=", "-=": "+=", "*=": "/=", "/=": "*="}
_LOGIC = {"&&": "||", "||": "&&"}
_BITS = {"&": "|", "|": "&", "^": "|", "<<": ">>", ">>": "<<", "&=": "|=", "|=": "&=", "<<=": ">>=", ">>=": "<<="}


@operator("flip_comparison", "bug", "binary_expression")
def flip_comparison(node: Node, src: bytes) -> Iterable[Edit]:
    """``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``."""
    return _swap_token(node, _CMP, "comparison")


@operator("swap_arithmetic", "bug", "binary_expression", "compound_assignment_expr")
def swap_arithmetic(node: Node, src: bytes) -> Iterable[Edit]:
    """``+`` ↔ ``-``, ``*`` ↔ ``/``, ``%`` → ``/`` (and their compound assignments)."""
    return _swap_token(node, _ARITH, "arithmetic")


@operator("swap_logical", "bug", "binary_expression")
def swap_logical(node: Node, src: bytes) -> Iterable[Edit]:
    """``&&`` ↔ ``||``."""
    return _swap_token(node, _LOGIC, "logical")


@operator("swap_bitwise", "bug", "binary_expression", "compound_assignment_expr")
def swap_bitwise(node: Node, src: bytes) -> Iterable[Edit]:
    """``&`` ↔ ``|``, ``^`` → ``|``, ``<<`` ↔ ``>>``."""
    return _swap_token(node, _BITS, "bitwise")


_INT_RE = re.compile(r"^(0x|0o|0b)?([0-9a-fA-F_]+?)(u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|i128|isize)?$")


def _parse_int(lit: str) -> tuple[int, str, str] | None:
    m = _INT_RE.match(lit)
    if not m:
        return None
    prefix, digits, suffix = m.group(1) or "", m.group(2).replace("_", ""), m.group(3) or ""
    base = {"": 10, "0x": 16, "0o": 8, "0b": 2}[prefix]
    try:
        return int(digits, base), prefix, suffix
    except ValueError:
        return None


def _format_int(value: int, prefix: str, suffix: str) -> str:
    body = {"": str, "0x": lambda v: format(v, "X"), "0o": lambda v: format(v, "o"),
            "0b": lambda v: format(v, "b")}[prefix](value)
    return f"{prefix}{body}{suffix}"


def _in_const_context(node: Node) -> bool:
    p = node.parent
    while p is not None:
        if p.type in ("const_item", "static_item", "array_type", "attribute_item", "enum_variant",
                      "type_arguments", "const_parameter"):
            return True
        if p.type in ("function_item", "closure_expression"):
            return False
        p = p.parent
    return False


@operator("off_by_one", "bug", "integer_literal")
def off_by_one(node: Node, src: bytes) -> Iterable[Edit]:
    """An integer literal ``n`` in an expression or pattern → ``n + 1`` / ``n - 1``."""
    if _in_const_context(node):
        return []
    parsed = _parse_int(text(node, src))
    if parsed is None:
        return []
    value, prefix, suffix = parsed
    out = [_replace(node, _format_int(value + 1, prefix, suffix), f"literal {value} -> {value + 1}")]
    if value > 0:
        out.append(_replace(node, _format_int(value - 1, prefix, suffix), f"literal {value} -> {value - 1}"))
    return out


@operator("range_bound", "bug", "range_expression", "range_pattern")
def range_bound(node: Node, src: bytes) -> Iterable[Edit]:
    """Exclusive ↔ inclusive range: ``a..b`` ↔ ``a..=b``."""
    named = [c for c in node.children if c.is_named]
    op = next((c for c in node.children if c.type in ("..", "..=")), None)
    if op is None or not named or named[-1].start_byte < op.end_byte:
        return []  # open-ended ranges (`a..`) have no inclusive form
    if node.type == "range_pattern" and op.type == "..":
        return []
    new = "..=" if op.type == ".." else ".."
    return [Edit(op.start_byte, op.end_byte, new, op.type, f"range `{op.type}` -> `{new}`",
                 op.start_byte, op.end_byte)]


_SIMPLE = {"identifier", "call_expression", "field_expression", "boolean_literal", "index_expression",
           "parenthesized_expression", "self", "scoped_identifier", "macro_invocation"}


def _negated(cond: Node, src: bytes) -> str:
    if cond.type == "unary_expression" and cond.children and cond.children[0].type == "!":
        return text(cond.children[1], src)
    inner = text(cond, src)
    return f"!{inner}" if cond.type in _SIMPLE else f"!({inner})"


def _plain_condition(node: Node) -> Node | None:
    cond = node.child_by_field_name("condition")
    if cond is None or cond.type in ("let_condition", "let_chain"):
        return None
    return cond


@operator("negate_condition", "bug", "if_expression", "while_expression")
def negate_condition(node: Node, src: bytes) -> Iterable[Edit]:
    """The condition of an ``if``/``while`` → its negation."""
    cond = _plain_condition(node)
    if cond is None:
        return []
    return [_replace(cond, _negated(cond, src), "negated condition")]


def _else_block(node: Node) -> Node | None:
    alt = node.child_by_field_name("alternative")
    if alt is None:
        return None
    block = next((c for c in alt.named_children if c.type == "block"), None)
    return block


@operator("swap_if_else", "bug", "if_expression")
def swap_if_else(node: Node, src: bytes) -> Iterable[Edit]:
    """``if c { A } else { B }`` → ``if c { B } else { A }``."""
    cond = _plain_condition(node)
    cons = node.child_by_field_name("consequence")
    alt = _else_block(node)
    if cond is None or cons is None or alt is None or text(cons, src).split() == text(alt, src).split():
        return []
    s = node.start_byte
    new = (src[s:cons.start_byte] + src[alt.start_byte:alt.end_byte] + src[cons.end_byte:alt.start_byte]
           + src[cons.start_byte:cons.end_byte] + src[alt.end_byte:node.end_byte])
    return [_replace(node, new.decode(), "swapped if/else branches")]


_STMT_EXPRS = {"call_expression", "compound_assignment_expr", "assignment_expression", "try_expression"}


@operator("delete_statement", "bug", "expression_statement")
def delete_statement(node: Node, src: bytes) -> Iterable[Edit]:
    """Delete a statement that is an assignment or a call (``x += 1;``, ``v.push(x);``)."""
    if node.parent is None or node.parent.type != "block" or not node.named_children:
        return []
    inner = node.named_children[0]
    if inner.type not in _STMT_EXPRS:
        return []
    return [_delete_line(node, src, f"deleted statement `{' '.join(text(node, src).split())[:60]}`")]


@operator("swap_call_args", "bug", "arguments")
def swap_call_args(node: Node, src: bytes) -> Iterable[Edit]:
    """Swap two adjacent arguments of a call: ``f(a, b)`` → ``f(b, a)``."""
    if node.parent is None or node.parent.type != "call_expression":
        return []
    args = [c for c in node.named_children if c.type not in ("line_comment", "block_comment", "attribute_item")]
    out = []
    for a, b in zip(args, args[1:]):
        ta, tb = text(a, src), text(b, src)
        if ta == tb:
            continue
        new = (src[node.start_byte:a.start_byte] + tb.encode() + src[a.end_byte:b.start_byte] + ta.encode()
               + src[b.end_byte:node.end_byte])
        out.append(_replace(node, new.decode(), f"swapped arguments `{ta[:30]}` and `{tb[:30]}`"))
    return out


def _format_float(v: float, suffix: str) -> str:
    s = repr(v)
    if "e" in s:
        mant, exp = s.split("e")
        if "." not in mant:
            mant += ".0"
        s = f"{mant}e{int(exp)}"
    elif "." not in s:
        s += ".0"
    return s + suffix


@operator("change_constant", "bug", "const_item", "static_item", "float_literal")
def change_constant(node: Node, src: bytes) -> Iterable[Edit]:
    """The literal value of a ``const``/``static`` (or a float literal) → a different value."""
    if node.type == "float_literal":
        if _in_const_context(node):
            return []
        lit = node
    else:
        lit = node.child_by_field_name("value")
        if lit is None or lit.type not in ("integer_literal", "float_literal"):
            return []
    raw = text(lit, src)
    if lit.type == "integer_literal":
        parsed = _parse_int(raw)
        if parsed is None:
            return []
        value, prefix, suffix = parsed
        new_value = value * 2 if value >= 2 else value + 1
        return [_replace(lit, _format_int(new_value, prefix, suffix), f"constant {value} -> {new_value}")]
    m = re.match(r"^([0-9_.eE+-]+?)(f32|f64)?$", raw)
    if not m:
        return []
    try:
        value = float(m.group(1).replace("_", ""))
    except ValueError:
        return []
    new_value = value * 2 if value != 0 else 1.0
    return [_replace(lit, _format_float(new_value, m.group(2) or ""), f"constant {raw} -> {new_value}")]


_INT_TYPES = {"u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize"}
_COLLECTIONS = {"Vec", "HashMap", "HashSet", "BTreeMap", "BTreeSet", "VecDeque", "BinaryHeap", "String"}
_NOT_TAIL = {"expression_statement", "let_declaration", "line_comment", "block_comment", "if_expression",
             "match_expression", "block", "loop_expression", "while_expression", "for_expression",
             "unsafe_block", "macro_invocation", "empty_statement", "function_item", "const_item",
             "use_declaration", "attribute_item", "return_expression"}


def _default_for(ret: Node, src: bytes) -> str | None:
    t = " ".join(text(ret, src).split())
    if t == "bool":
        return "false"
    if t in _INT_TYPES:
        return "0"
    if t in ("f32", "f64"):
        return "0.0"
    if t in ("&str", "&'static str"):
        return '""'
    head = t.split("<", 1)[0].strip()
    if head in _COLLECTIONS:
        return f"{head}::new()"
    if head == "Option":
        return "None"
    if head == "Result":
        return "Ok(())" if t.replace(" ", "").startswith("Result<()") else "Ok(Default::default())"
    if t in ("()", "!", "Self") or t.startswith(("impl ", "&", "dyn ", "(", "[", "*")):
        return None
    return "Default::default()"


def _fn_return_type(node: Node) -> Node | None:
    fn = enclosing(node, "function_item", stop=("closure_expression",))
    return None if fn is None else fn.child_by_field_name("return_type")


@operator("default_return", "bug", "block", "return_expression")
def default_return(node: Node, src: bytes) -> Iterable[Edit]:
    """A function's returned value → its type's default (``0``, ``false``, ``None``, ``Vec::new()``...)."""
    if node.type == "block":
        if node.parent is None or node.parent.type != "function_item":
            return []
        named = [c for c in node.named_children if c.type not in ("line_comment", "block_comment")]
        if not named or named[-1].type in _NOT_TAIL:
            return []
        value = named[-1]
        # the tail expression is the block's last child before `}` with no `;` after it
        if value.end_byte != max(c.end_byte for c in node.children if c.type != "}"):
            return []
        ret = node.parent.child_by_field_name("return_type")
    else:
        value = node.named_children[0] if node.named_children else None
        if value is None:
            return []
        ret = _fn_return_type(node)
    if ret is None:
        return []
    new = _default_for(ret, src)
    if new is None or text(value, src).strip() == new:
        return []
    return [_replace(value, new, f"returned value -> `{new}`")]


_EXITS = {"return_expression", "continue_expression", "break_expression"}


def _ends_with_exit(block: Node) -> bool:
    named = [c for c in block.named_children if c.type not in ("line_comment", "block_comment")]
    if not named:
        return False
    last = named[-1]
    if last.type == "expression_statement" and last.named_children:
        last = last.named_children[0]
    return last.type in _EXITS


@operator("drop_early_return", "bug", "expression_statement")
def drop_early_return(node: Node, src: bytes) -> Iterable[Edit]:
    """Delete a guard ``if cond { return ..; }`` (also ``continue``/``break`` guards)."""
    if node.parent is None or node.parent.type != "block" or not node.named_children:
        return []
    inner = node.named_children[0]
    if inner.type != "if_expression" or inner.child_by_field_name("alternative") is not None:
        return []
    cons = inner.child_by_field_name("consequence")
    if cons is None or not _ends_with_exit(cons):
        return []
    return [_delete_line(node, src, "deleted early exit")]


@operator("drop_try", "bug", "try_expression")
def drop_try(node: Node, src: bytes) -> Iterable[Edit]:
    """``expr?`` → ``expr.unwrap_or_default()``: the error is swallowed instead of propagated."""
    inner = node.named_children[0] if node.named_children else None
    if inner is None:
        return []
    t = text(inner, src)
    if inner.type not in _SIMPLE:
        t = f"({t})"
    return [_replace(node, f"{t}.unwrap_or_default()", "`?` -> `.unwrap_or_default()`")]


@operator("invert_bool_literal", "bug", "boolean_literal")
def invert_bool_literal(node: Node, src: bytes) -> Iterable[Edit]:
    """``true`` ↔ ``false``."""
    if _in_const_context(node):
        return []
    new = "false" if text(node, src) == "true" else "true"
    return [_replace(node, new, f"`{text(node, src)}` -> `{new}`")]


@operator("remove_match_guard", "bug", "match_pattern")
def remove_match_guard(node: Node, src: bytes) -> Iterable[Edit]:
    """``Some(x) if x > 0 => ..`` → ``Some(x) => ..``."""
    if node.child_by_field_name("condition") is None or not node.children:
        return []
    pattern = node.children[0]
    return [_replace(node, text(pattern, src), "removed match-arm guard")]


_METHOD_PAIRS = [
    ("min", "max"), ("first", "last"), ("push_back", "push_front"), ("pop_back", "pop_front"),
    ("front", "back"), ("starts_with", "ends_with"), ("is_some", "is_none"), ("is_ok", "is_err"),
    ("trim_start", "trim_end"), ("to_lowercase", "to_uppercase"), ("to_ascii_lowercase", "to_ascii_uppercase"),
    ("floor", "ceil"), ("any", "all"), ("wrapping_add", "wrapping_sub"), ("saturating_add", "saturating_sub"),
    ("checked_add", "checked_sub"), ("find", "rfind"), ("min_by_key", "max_by_key"), ("min_by", "max_by"),
    ("take_while", "skip_while"), ("split_first", "split_last"), ("is_lowercase", "is_uppercase"),
    ("is_ascii_lowercase", "is_ascii_uppercase"), ("position", "rposition"), ("nth", "nth_back"),
]
_METHOD_SWAP = {a: b for a, b in _METHOD_PAIRS} | {b: a for a, b in _METHOD_PAIRS}


@operator("swap_method", "bug", "field_identifier")
def swap_method(node: Node, src: bytes) -> Iterable[Edit]:
    """A method call → its mirror: ``min`` ↔ ``max``, ``first`` ↔ ``last``, ``any`` ↔ ``all``..."""
    field = node.parent
    if field is None or field.type != "field_expression" or field.parent is None \
            or field.parent.type != "call_expression":
        return []
    name = text(node, src)
    new = _METHOD_SWAP.get(name)
    return [] if new is None else [_replace(node, new, f"`.{name}()` -> `.{new}()`")]


# ------------------------------------------------------------------------------------------------
# compile-error operators
# ------------------------------------------------------------------------------------------------
@operator("remove_mut", "compile", "mutable_specifier")
def remove_mut(node: Node, src: bytes) -> Iterable[Edit]:
    """``let mut x`` → ``let x``."""
    if node.parent is None or node.parent.type != "let_declaration":
        return []
    end = node.end_byte
    while end < len(src) and src[end:end + 1] in (b" ", b"\t"):
        end += 1
    return [Edit(node.start_byte, end, "", node.type, "removed `mut`", node.start_byte, node.end_byte)]


def _local_names(fn_node: Node, src: bytes) -> set[str]:
    names: set[str] = set()
    for n in walk(fn_node):
        if n.type in ("let_declaration", "parameter"):
            pat = n.child_by_field_name("pattern")
            if pat is not None:
                names |= {text(i, src) for i in walk(pat) if i.type == "identifier"}
    return names


def _typo(name: str) -> str | None:
    if len(name) < 4:
        return None
    i = len(name) // 2
    a, b = name[i - 1], name[i]
    if a != b:
        return name[:i - 1] + b + a + name[i + 1:]
    return name[:i] + name[i + 1:]


@operator("misspell_identifier", "compile", "identifier")
def misspell_identifier(node: Node, src: bytes) -> Iterable[Edit]:
    """A use of a local variable → a misspelling (``count`` → ``conut``)."""
    parent = node.parent
    if parent is None or parent.type in ("let_declaration", "parameter", "scoped_identifier",
                                         "token_tree", "shorthand_field_initializer", "function_item",
                                         "closure_parameters", "field_pattern", "tuple_pattern",
                                         "tuple_struct_pattern", "reference_pattern", "macro_invocation"):
        return []
    if parent.type.endswith("pattern") or parent.type == "match_pattern":
        return []
    fn = enclosing(node, "function_item")
    if fn is None:
        return []
    name = text(node, src)
    if name not in _local_names(fn, src):
        return []
    new = _typo(name)
    return [] if new is None else [_replace(node, new, f"`{name}` -> `{new}`")]


@operator("remove_borrow", "compile", "reference_expression")
def remove_borrow(node: Node, src: bytes) -> Iterable[Edit]:
    """``&x`` / ``&mut x`` → ``x``."""
    value = node.child_by_field_name("value")
    if value is None:
        return []
    return [_replace(node, text(value, src), "removed borrow")]


@operator("tail_semicolon", "compile", "block")
def tail_semicolon(node: Node, src: bytes) -> Iterable[Edit]:
    """A function's tail expression ``x`` → ``x;`` (the function then returns ``()``)."""
    if node.parent is None or node.parent.type != "function_item" \
            or node.parent.child_by_field_name("return_type") is None:
        return []
    named = [c for c in node.named_children if c.type not in ("line_comment", "block_comment")]
    if not named or named[-1].type in ("expression_statement", "let_declaration", "empty_statement",
                                       "macro_invocation", "function_item"):
        return []
    value = named[-1]
    return [_replace(value, text(value, src) + ";", "added `;` after the tail expression")]


@operator("drop_cast", "compile", "type_cast_expression")
def drop_cast(node: Node, src: bytes) -> Iterable[Edit]:
    """``x as T`` → ``x``."""
    value = node.child_by_field_name("value")
    if value is None:
        return []
    return [_replace(node, text(value, src), "removed `as` cast")]


# ------------------------------------------------------------------------------------------------
# behaviour-preserving refactors (clean review diffs)
# ------------------------------------------------------------------------------------------------
_PURE_CALLS = {"len", "is_empty", "abs", "clone", "unwrap", "count", "as_str", "as_bytes", "first", "last"}


def _pure(node: Node, src: bytes) -> bool:
    for n in walk(node):
        if n.type in ("macro_invocation", "assignment_expression", "compound_assignment_expr", "closure_expression",
                      "block", "try_expression"):
            return False
        if n.type == "call_expression":
            f = n.child_by_field_name("function")
            args = n.child_by_field_name("arguments")
            if f is None or f.type != "field_expression" or args is None or args.named_child_count:
                return False
            name = f.child_by_field_name("field")
            if name is None or text(name, src) not in _PURE_CALLS:
                return False
    return True


_MIRROR = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}


def _operands(node: Node) -> tuple[Node, Node, Node] | None:
    left, right, op = node.child_by_field_name("left"), node.child_by_field_name("right"), _op_token(node)
    if left is None or right is None or op is None:
        return None
    return left, op, right


@operator("mirror_comparison", "refactor", "binary_expression")
def mirror_comparison(node: Node, src: bytes) -> Iterable[Edit]:
    """``a < b`` → ``b > a`` (pure operands only)."""
    parts = _operands(node)
    if parts is None or parts[1].type not in _MIRROR:
        return []
    left, op, right = parts
    if not (_pure(left, src) and _pure(right, src)):
        return []
    new = f"{text(right, src)} {_MIRROR[op.type]} {text(left, src)}"
    return [_replace(node, new, "mirrored comparison")]


@operator("commute_operands", "refactor", "binary_expression")
def commute_operands(node: Node, src: bytes) -> Iterable[Edit]:
    """``a + b`` → ``b + a`` for commutative ``+ * & | ^`` with pure, simple operands."""
    parts = _operands(node)
    if parts is None or parts[1].type not in ("+", "*", "&", "|", "^"):
        return []
    left, op, right = parts
    simple = {"identifier", "integer_literal", "field_expression", "call_expression", "index_expression",
              "parenthesized_expression", "self", "float_literal"}
    if left.type not in simple or right.type not in simple or not (_pure(left, src) and _pure(right, src)):
        return []
    # keep left-associated chains intact: only commute when the parent is not the same operator
    if node.parent is not None and node.parent.type == "binary_expression":
        pop = _op_token(node.parent)
        if pop is not None and pop.type in ("+", "-", "*", "/", "%"):
            return []
    return [_replace(node, f"{text(right, src)} {op.type} {text(left, src)}", "commuted operands")]


@operator("invert_if_else", "refactor", "if_expression")
def invert_if_else(node: Node, src: bytes) -> Iterable[Edit]:
    """``if c { A } else { B }`` → ``if !c { B } else { A }``."""
    cond = _plain_condition(node)
    cons = node.child_by_field_name("consequence")
    alt = _else_block(node)
    if cond is None or cons is None or alt is None:
        return []
    s = node.start_byte
    new = (src[s:cond.start_byte] + _negated(cond, src).encode() + src[cond.end_byte:cons.start_byte]
           + src[alt.start_byte:alt.end_byte] + src[cons.end_byte:alt.start_byte]
           + src[cons.start_byte:cons.end_byte] + src[alt.end_byte:node.end_byte])
    return [_replace(node, new.decode(), "inverted if/else")]


@operator("len_zero_to_is_empty", "refactor", "binary_expression")
def len_zero_to_is_empty(node: Node, src: bytes) -> Iterable[Edit]:
    """``x.len() == 0`` → ``x.is_empty()`` (and ``!= 0`` / ``> 0`` → ``!x.is_empty()``)."""
    parts = _operands(node)
    if parts is None:
        return []
    left, op, right = parts
    if op.type not in ("==", "!=", ">") or text(right, src) != "0" or left.type != "call_expression":
        return []
    f = left.child_by_field_name("function")
    args = left.child_by_field_name("arguments")
    if f is None or f.type != "field_expression" or args is None or args.named_child_count:
        return []
    field, value = f.child_by_field_name("field"), f.child_by_field_name("value")
    if field is None or value is None or text(field, src) != "len":
        return []
    fn = enclosing(node, "function_item")
    name = fn.child_by_field_name("name") if fn is not None else None
    if name is not None and text(name, src) == "is_empty":
        return []  # `fn is_empty(&self) { self.len() == 0 }` would call itself
    neg = "" if op.type == "==" else "!"
    return [_replace(node, f"{neg}{text(value, src)}.is_empty()", "len() comparison -> is_empty()")]


@operator("expand_compound_assignment", "refactor", "compound_assignment_expr")
def expand_compound_assignment(node: Node, src: bytes) -> Iterable[Edit]:
    """``x += e`` → ``x = x + e``."""
    parts = _operands(node)
    if parts is None:
        return []
    left, op, right = parts
    if left.type not in ("identifier", "field_expression") or not _pure(left, src) or len(op.type) < 2:
        return []
    rhs = text(right, src)
    if right.type in ("binary_expression", "range_expression", "type_cast_expression"):
        rhs = f"({rhs})"
    lhs = text(left, src)
    return [_replace(node, f"{lhs} = {lhs} {op.type[:-1]} {rhs}", "expanded compound assignment")]


_RENAMES = {"count": "n", "total": "sum", "result": "out", "res": "out", "idx": "index", "index": "idx",
            "len": "length", "value": "val", "val": "value", "acc": "accum", "buf": "buffer", "buffer": "buf",
            "out": "output", "output": "out", "i": "ix", "j": "jx", "n": "num", "node": "current",
            "current": "cur", "cur": "current", "key": "k", "next": "following", "prev": "previous",
            "start": "begin", "end": "stop", "pos": "position", "ch": "c", "c": "ch", "word": "token",
            "line": "row", "parts": "pieces", "seen": "visited", "visited": "seen", "stack": "pending",
            "queue": "pending", "dist": "distance", "left": "lhs", "right": "rhs", "items": "entries"}


@operator("rename_local", "refactor", "let_declaration")
def rename_local(node: Node, src: bytes) -> Iterable[Edit]:
    """Rename a ``let`` binding and every later use of it in its block."""
    pat = node.child_by_field_name("pattern")
    block = node.parent
    if pat is None or pat.type != "identifier" or block is None or block.type != "block":
        return []
    name = text(pat, src)
    new = _RENAMES.get(name, f"{name}_value" if len(name) > 1 else None)
    if new is None or re.search(rb"\b" + re.escape(new.encode()) + rb"\b", src):
        return []
    body = src[node.start_byte:block.end_byte]
    if re.search(rb"\{" + re.escape(name.encode()) + rb"[}:]", body):
        return []  # inline format captures cannot be renamed by the tree
    spans: list[tuple[int, int, str]] = []
    for n in walk(block):
        if n.start_byte < pat.start_byte or n.type != "identifier" or text(n, src) != name:
            continue
        parent = n.parent
        if parent is not None and parent.type in ("scoped_identifier", "scoped_type_identifier"):
            continue
        if parent is not None and parent.type == "shorthand_field_initializer":
            spans.append((n.start_byte, n.end_byte, f"{name}: {new}"))
        elif parent is not None and parent.type == "field_pattern" and parent.child_by_field_name("name") is n \
                and parent.child_by_field_name("pattern") is None:
            spans.append((n.start_byte, n.end_byte, f"{name}: {new}"))
        else:
            spans.append((n.start_byte, n.end_byte, new))
    if len(spans) < 2:
        return []
    start, end = spans[0][0], spans[-1][1]
    pieces, cursor = [], start
    for s, e, rep in spans:
        pieces.append(src[cursor:s].decode())
        pieces.append(rep)
        cursor = e
    pieces.append(src[cursor:end].decode())
    return [Edit(start, end, "".join(pieces), "identifier", f"renamed `{name}` to `{new}`",
                 start, end, single_node=False)]


# ------------------------------------------------------------------------------------------------
# implement: a function body -> todo!()
# ------------------------------------------------------------------------------------------------
@operator("todo_body", "implement", "function_item")
def todo_body(node: Node, src: bytes) -> Iterable[Edit]:
    """A function's body → ``{ todo!() }`` (bodies of 3–60 lines)."""
    body = node.child_by_field_name("body")
    if body is None:
        return []
    lines = [ln for ln in text(body, src).splitlines()[1:-1] if ln.strip() and not ln.strip().startswith("//")]
    if not 2 <= len(lines) <= 60:
        return []
    line_start = src.rfind(b"\n", 0, node.start_byte) + 1
    indent = src[line_start:node.start_byte].decode()
    indent = indent if not indent.strip() else ""
    name = node.child_by_field_name("name")
    fname = text(name, src) if name is not None else "?"
    return [_replace(body, "{\n" + indent + "    todo!()\n" + indent + "}", f"body of `{fname}` -> todo!()")]


def operators_for(intent: str | None = None) -> list[Operator]:
    return [op for op in OPERATORS.values() if intent is None or op.intent == intent]
