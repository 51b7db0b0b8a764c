"""Formatter registry: Harmony (default) and the seed dialect."""

from __future__ import annotations

import pytest

from cargogym.errors import CargogymError
from cargogym.harmony.formatters import FormatValidationError, get_formatter
from cargogym.harmony.parse import HarmonyParseError
from cargogym.harmony.seed_dialect import SEED_TOKENS, SeedFormatError, parse_seed, render_seed

TOOLS = [{"name": "run_tests", "description": "Run cargo test.", "parameters": {"type": "object", "properties": {}}}]
MSGS = [
    {"role": "system", "content": "You are a Rust agent."},
    {"role": "user", "content": "Fix it.\nTrailing newline\n"},
    {"role": "assistant", "channel": "analysis", "content": "Run tests first.\n"},
    {"role": "assistant", "channel": "commentary", "recipient": "functions.run_tests", "content_type": "json",
     "content": '{"filter": "añb"}'},
    {"role": "tool", "name": "functions.run_tests", "content": "1 failed\n\nfailures:\n  x"},
    {"role": "assistant", "channel": "final", "content": "Done: 日本"},
]


def test_seed_dialect_text_and_round_trip():
    text = render_seed(MSGS, TOOLS, role_prompt="You are the CODER.")
    assert text.startswith("<|developer|>You are a Rust agent.\n\nYou are the CODER.\n\n# Tools\n")
    assert "<|assistant|><|thinking|>Run tests first.\n<|/thinking|>" in text
    assert "<|assistant|><|tool_call|><|tool_call_id|>call_1<|name|>run_tests\n{\"filter\": \"añb\"}" in text
    assert "<|tool_result|><|tool_call_id|>call_1<|name|>run_tests\n1 failed" in text
    assert text.endswith("<|assistant|>Done: 日本\n<|endoftext|>")
    back = parse_seed(text)
    assert [m["role"] for m in back] == ["developer", "user", "assistant", "assistant", "tool", "assistant"]
    assert back[1]["content"] == MSGS[1]["content"] and back[4]["content"] == MSGS[4]["content"]
    assert set(SEED_TOKENS) >= {"<|tool_call_id|>", "<|name|>", "<|endoftext|>"}


@pytest.mark.parametrize("name", ["harmony", "seed"])
def test_validate_and_prompt_and_completion(name):
    fmt = get_formatter(name)
    text = fmt.render_text(MSGS, TOOLS, "You are the CODER.")
    fmt.validate(text, MSGS)
    with pytest.raises(FormatValidationError, match="differs"):
        fmt.validate(text, MSGS[:-1] + [dict(MSGS[-1], content="other")])
    with pytest.raises(FormatValidationError):
        fmt.validate(text, MSGS[:-2])
    prompt = fmt.render_prompt_text(MSGS[:3], TOOLS, "You are the CODER.")
    assert text.startswith(prompt)  # the completion prompt is a prefix of the training text
    completion = {"harmony": '<|channel|>commentary to=functions.run_tests <|constrain|>json<|message|>{"filter": "x"}<|call|>',
                  "seed": '<|thinking|>hm<|/thinking|>\n<|assistant|><|tool_call|><|tool_call_id|>call_9<|name|>run_tests\n{"filter": "x"}\n'}[name]
    p = fmt.parse_completion(completion)
    assert p.tool_call.name == "run_tests" and p.tool_call.arguments == {"filter": "x"}


def test_seed_errors():
    with pytest.raises(SeedFormatError, match="marker"):
        render_seed([{"role": "user", "content": "sneaky <|user|> marker"}])
    with pytest.raises(SeedFormatError, match="before the first block"):
        parse_seed("junk<|user|>x")
    with pytest.raises(HarmonyParseError, match="not valid JSON"):
        get_formatter("seed").parse_completion("<|tool_call|><|tool_call_id|>c<|name|>run_tests\n{oops")
    with pytest.raises(CargogymError, match="unknown formatter"):
        get_formatter("chatml")
