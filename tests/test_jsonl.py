"""The strict JSONL reader shared by tasks, SWE-bench instances, rescore, trees and samples."""

from __future__ import annotations

import pytest

from cargogym.jsonl import numbered_json_lines


class Bad(ValueError):
    pass


def test_blank_lines_are_skipped_and_numbers_are_the_file_lines():
    lines = ['{"a": 1}\n', "\n", "   \n", "[2, 3]\n", "null\n"]
    assert list(numbered_json_lines(lines, "f.jsonl", Bad)) == [(1, {"a": 1}), (4, [2, 3]), (5, None)]


def test_a_bad_line_raises_the_callers_error_naming_file_line_and_column():
    rows = numbered_json_lines(['{"a": 1}', '{"a": '], "runs/x.jsonl", Bad)
    assert next(rows) == (1, {"a": 1})
    with pytest.raises(Bad, match=r"^runs/x\.jsonl:2: not valid JSON \(Expecting value, column 7\)$"):
        next(rows)
