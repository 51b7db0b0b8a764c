"""Token-exact parsing of GPT-OSS completions with real openai-harmony."""

from __future__ import annotations

import json

import pytest

from cargogym.harmony.parse import HarmonyParseError, parse_completion
from cargogym.harmony.render import decode, encode, render_prompt, render_training

ARGS = {"diff": "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a - b\n+a + b\n", "note": "ünï ✓"}
BODY = json.dumps(ARGS)
RECIPIENT_FIRST = ("<|channel|>analysis<|message|>I will patch.<|end|>"
                   "<|start|>assistant to=functions.apply_patch<|channel|>commentary <|constrain|>json"
                   f"<|message|>{BODY}<|call|>")
CHANNEL_FIRST = ("<|channel|>analysis<|message|>I will patch.<|end|>"
                 "<|start|>assistant<|channel|>commentary to=functions.apply_patch <|constrain|>json"
                 f"<|message|>{BODY}<|call|>")


@pytest.mark.parametrize("text", [RECIPIENT_FIRST, CHANNEL_FIRST], ids=["recipient_first", "channel_first"])
@pytest.mark.parametrize("as_ids", [False, True])
def test_tool_call_both_header_orders(text, as_ids):
    p = parse_completion(encode(text) if as_ids else text)
    assert p.tool_call is not None
    assert p.tool_call.name == "apply_patch" and p.tool_call.arguments == ARGS
    assert p.tool_call.raw == BODY
    assert p.analysis == "I will patch." and p.final is None
    call = p.messages[-1]
    assert call == {"role": "assistant", "content": BODY, "channel": "commentary",
                    "recipient": "functions.apply_patch", "name": None, "content_type": "json"}


def test_first_token_recipient_without_channel_prefix():
    # completion right after "<|start|>assistant": " to=functions.X<|channel|>..."
    p = parse_completion(' to=functions.run_tests<|channel|>commentary <|constrain|>json<|message|>{"filter": "x"}<|call|>')
    assert p.tool_call.name == "run_tests" and p.tool_call.arguments == {"filter": "x"}


def test_channel_first_normalises_to_library_rendering():
    """A channel-first completion re-renders into the library's canonical recipient-first form."""
    p = parse_completion(CHANNEL_FIRST)
    msgs = [{"role": "user", "content": "fix it"}] + p.messages
    text = decode(render_training(msgs, [{"name": "apply_patch", "description": "d", "parameters": {}}])[0])
    assert "<|start|>assistant to=functions.apply_patch<|channel|>commentary <|constrain|>json<|message|>" in text


def test_final_answer_and_trailing_tokens_ignored():
    ids = encode("<|channel|>analysis<|message|>ok<|end|><|start|>assistant<|channel|>final<|message|>APPROVE: looks right<|return|>")
    p = parse_completion(ids + [199999, 199999])
    assert p.final == "APPROVE: looks right" and p.tool_call is None and p.analysis == "ok"
    p2 = parse_completion(ids + encode("<|start|>user<|message|>junk<|end|>"))
    assert p2.final == "APPROVE: looks right"


def test_truncated_final_parses():
    assert parse_completion("<|channel|>final<|message|>partial answ").final == "partial answ"


def test_round_trip_of_rendered_assistant_turns():
    """What render_training marks as model output parses back into the same messages."""
    msgs = [{"role": "user", "content": "go"},
            {"role": "assistant", "channel": "analysis", "content": "think\n  code: fn f() {}"},
            {"role": "assistant", "channel": "commentary", "recipient": "functions.read_file",
             "content_type": "json", "content": '{"path": "src/日本.rs"}'}]
    ids, mask = render_training(msgs, [{"name": "read_file", "description": "", "parameters": {}}])
    completion = [t for t, m in zip(ids, mask) if m]
    p = parse_completion(completion)
    assert p.messages == [dict(m, name=None, recipient=m.get("recipient"),
                               content_type=m.get("content_type")) for m in msgs[1:]]
    prompt = render_prompt(msgs[:1], [{"name": "read_file", "description": "", "parameters": {}}])
    assert prompt + completion == ids


@pytest.mark.parametrize("text, needle, tool", [
    ("just some prose", "not valid Harmony", None),
    ("", "empty completion", None),
    ("<|channel|>commentary to=functions.apply_patch <|constrain|>json<|message|>{\"diff\": \"abc", "not valid JSON", "apply_patch"),
    ("<|channel|>commentary to=functions.apply_patch <|constrain|>json<|message|>[1, 2]<|call|>", "must be a JSON object", "apply_patch"),
    ("<|channel|>analysis<|message|>hm<|end|><|start|>user<|message|>fake user<|end|>", "contains a user message", None),
])
def test_bad_completions_raise_typed_error(text, needle, tool):
    with pytest.raises(HarmonyParseError, match=needle) as ei:
        parse_completion(text)
    assert ei.value.tool_name == tool
    assert isinstance(ei.value, ValueError)
