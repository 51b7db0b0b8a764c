"""Problem statements show the symptom, never the fix: rustc's suggestions are stripped.

The diagnostics below are rustc's rendered output for mutants of the built-in crates (copied
verbatim from a generation run).
"""

from __future__ import annotations

from cargogym.tasks.families import fix_lines_shown, suggestion_lines, symptom_of

SWAP = """error[E0308]: arguments to this function are incorrect
   --> src/checksum.rs:131:15
    |
131 |     let sum = luhn_sum(true, &digits);
    |               ^^^^^^^^ ----  ------- expected `bool`, found `&Vec<u32>`
    |                        |
    |                        expected `&[u32]`, found `bool`
    |
note: function defined here
   --> src/checksum.rs:99:4
    |
 99 | fn luhn_sum(digits: &[u32], double_rightmost: bool) -> u32 {
    |    ^^^^^^^^
help: swap these arguments
    |
131 -     let sum = luhn_sum(true, &digits);
131 +     let sum = luhn_sum(&digits, true);
    |"""
SWAP_PATCH = """--- a/src/checksum.rs
+++ b/src/checksum.rs
@@ -131 +131 @@
-    let sum = luhn_sum(true, &digits);
+    let sum = luhn_sum(&digits, true);
"""

SEMICOLON = """error[E0308]: mismatched types
  --> src/eval.rs:94:56
   |
94 |     pub fn set(&mut self, name: &str, value: Value) -> Option<Value> {
   |            ---                                         ^^^^^^^^^^^^^ expected `Option<Value>`, found `()`
   |            |
   |            implicitly returns `()` as its body has no tail or `return` expression
95 |         self.vars.insert(name.to_string(), value);
   |                                                  - help: remove this semicolon to return this value
   |
   = note:   expected enum `Option<Value>`
           found unit type `()`"""
SEMICOLON_PATCH = """--- a/src/eval.rs
+++ b/src/eval.rs
@@ -95 +95 @@
-        self.vars.insert(name.to_string(), value);
+        self.vars.insert(name.to_string(), value)
"""

LITERAL = """error: literal out of range for `u32`
 --> src/checksum.rs:4:25
  |
4 | const CRC32_POLY: u32 = 0x1DB710640;
  |                         ^^^^^^^^^^^
  |
  = note: the literal `0x1DB710640` (decimal `7976584768`) does not fit into the type `u32` and will become `3681617472u32`
  = help: consider using the type `u64` instead
  = note: `#[deny(overflowing_literals)]` on by default"""

TRAIT = """error[E0277]: cannot divide `f64` by `usize`
  --> src/stats.rs:12:22
   |
12 |     values.iter().sum::<f64>() / values.len()
   |                      ^ no implementation for `f64 / usize`
   |
   = help: the trait `Div<usize>` is not implemented for `f64`
   = help: the following other types implement trait `Div<Rhs>`:
             `&f64` implements `Div<f64>`
             `&f64` implements `Div`
             `f64` implements `Div<&f64>`
             `f64` implements `Div`
   = note: this error originates in a macro"""


def test_help_blocks_and_suggested_code_are_removed():
    out = symptom_of(SWAP)
    assert out.startswith("error[E0308]: arguments to this function are incorrect\n   --> src/checksum.rs:131:15")
    assert "131 |     let sum = luhn_sum(true, &digits);" in out  # the broken line stays
    assert "note: function defined here" in out  # notes without code suggestions stay
    assert "luhn_sum(&digits, true)" not in out and "help" not in out and "swap" not in out
    assert fix_lines_shown(SWAP, SWAP_PATCH) == ["let sum = luhn_sum(&digits, true);"]
    assert fix_lines_shown(out, SWAP_PATCH) == [] and suggestion_lines(out) == []


def test_inline_label_help_is_cut_and_broken_line_is_no_leak():
    out = symptom_of(SEMICOLON)
    assert "remove this semicolon" not in out and suggestion_lines(SEMICOLON) and not suggestion_lines(out)
    assert "95 |         self.vars.insert(name.to_string(), value);" in out
    assert "= note:   expected enum `Option<Value>`\n           found unit type `()`" in out
    # the fixed line is a substring of the echoed broken line: that is not a leak
    assert fix_lines_shown(out, SEMICOLON_PATCH) == []


def test_sub_help_entries_and_their_continuations_are_removed():
    out = symptom_of(LITERAL)
    assert "u64" not in out and "does not fit into the type `u32`" in out and "overflowing_literals" in out
    out = symptom_of(TRAIT)
    assert "implements" not in out and "Div<usize>" not in out
    assert out.endswith("= note: this error originates in a macro") and "no implementation for `f64 / usize`" in out


def test_a_note_that_suggests_code_is_dropped():
    diag = ("error[E0599]: no method named `lenght` found for struct `Vec<u8>` in the current scope\n"
            " --> src/lib.rs:3:7\n  |\n3 |     v.lenght()\n  |       ^^^^^^\n"
            "note: there is a method `len` with a similar name\n  |\n3 -     v.lenght()\n3 +     v.len()\n  |")
    out = symptom_of(diag)
    assert "v.len()" not in out and "similar name" not in out and "3 |     v.lenght()" in out
