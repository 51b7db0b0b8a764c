"""Rendering cargogym conversations with real openai-harmony."""

from __future__ import annotations

import json

import pytest

from cargogym.harmony.render import (
    HarmonyRenderError,
    decode,
    render_prompt,
    render_training,
    to_conversation,
)

TOOLS = [
    {"name": "apply_patch", "description": "Apply a unified diff to the workspace.",
     "parameters": {"type": "object", "properties": {"diff": {"type": "string"}}, "required": ["diff"]}},
    {"name": "run_tests", "description": "Run cargo test.",
     "parameters": {"type": "object", "properties": {"filter": {"type": "string"}}}},
]


def _episode() -> list[dict]:
    return [
        {"role": "user", "content": "Fix `add` in src/math.rs — it returns a - b. ünïcödé ✓"},
        {"role": "assistant", "channel": "analysis", "content": "The test add_works fails; look at math.rs."},
        {"role": "assistant", "channel": "commentary", "recipient": "functions.run_tests",
         "content_type": "json", "content": json.dumps({"filter": "add"})},
        {"role": "tool", "name": "functions.run_tests", "content": "test math::add_works ... FAILED"},
        {"role": "assistant", "channel": "analysis", "content": "Patch it."},
        {"role": "assistant", "channel": "commentary", "recipient": "functions.apply_patch",
         "content_type": "json", "content": json.dumps({"diff": "--- a/src/math.rs\n+++ b/src/math.rs\n"})},
        {"role": "tool", "name": "functions.apply_patch", "content": "patched src/math.rs"},
        {"role": "assistant", "channel": "final", "content": "Fixed add."},
    ]


def _lib():
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


def test_prompt_matches_library_and_ends_with_assistant_header():
    from openai_harmony import Role

    msgs = _episode()[:-1]
    ids = render_prompt(msgs, TOOLS, role_prompt="You are the coder.")
    lib = _lib().render_conversation_for_completion(to_conversation(msgs, TOOLS, "You are the coder."),
                                                    Role.ASSISTANT)
    assert ids == lib
    text = decode(ids)
    assert text.endswith("<|start|>assistant")
    assert "namespace functions {" in text and "type apply_patch" in text
    assert "# Instructions\n\nYou are the coder." in text
    assert ("<|start|>assistant to=functions.run_tests<|channel|>commentary <|constrain|>json"
            '<|message|>{"filter": "add"}<|call|>') in text
    assert "<|start|>functions.run_tests to=assistant<|channel|>commentary<|message|>test math" in text


@pytest.mark.parametrize("cut", [1, 3, 5, 8])
def test_prompt_matches_library_for_prefixes_and_drop_rule(cut):
    from openai_harmony import Role

    msgs = _episode()[:cut] + [{"role": "user", "content": "again"},
                              {"role": "assistant", "channel": "analysis", "content": "thinking 2"},
                              {"role": "assistant", "channel": "final", "content": "done 2"}]
    lib = _lib()
    for k in range(1, len(msgs) + 1):
        assert render_prompt(msgs[:k], TOOLS) == lib.render_conversation_for_completion(
            to_conversation(msgs[:k], TOOLS), Role.ASSISTANT), k


def test_training_targets_end_with_return_and_mask_covers_assistant_only():
    from openai_harmony import RenderConversationConfig

    msgs = _episode()
    ids, mask = render_training(msgs, TOOLS)
    assert len(ids) == len(mask)
    assert ids[-1] == 200002  # <|return|>
    lib = _lib().render_conversation_for_training(to_conversation(msgs, TOOLS),
                                                  RenderConversationConfig(auto_drop_analysis=False))
    assert ids == lib
    masked = decode([t for t, m in zip(ids, mask) if m])
    assert "The test add_works fails" in masked and "Patch it." in masked
    assert "Fixed add.<|return|>" in masked and "to=functions.apply_patch" in masked
    assert "test math::add_works ... FAILED" not in masked and "Fix `add`" not in masked
    assert "namespace functions" not in masked
    # every assistant turn after a non-assistant message starts with an unmasked <|start|>assistant
    for i, t in enumerate(ids[:-1]):
        if t == 200006 and mask[i + 1] == 1 and ids[i + 1] == 173781:
            assert mask[i] == 1  # a continuation the model itself generates
    # the masked span of each turn is exactly what the model generates after render_prompt
    for cut in (1, 4, 7):
        prompt = render_prompt(msgs[:cut], TOOLS)
        assert ids[: len(prompt)] == prompt
        assert mask[len(prompt) - 1] == 0 and mask[len(prompt)] == 1


def test_tool_names_are_qualified_and_system_identity_used():
    msgs = [{"role": "system", "content": "You are a Rust agent."}, {"role": "user", "content": "hi"},
            {"role": "assistant", "recipient": "run_tests", "content": "{}"},
            {"role": "tool", "name": "run_tests", "content": "ok"}]
    text = decode(render_prompt(msgs, TOOLS))
    assert text.startswith("<|start|>system<|message|>You are a Rust agent.")
    assert "<|start|>assistant to=functions.run_tests<|channel|>commentary<|message|>{}<|call|>" in text
    assert "<|start|>functions.run_tests to=assistant" in text


def test_no_tools_no_developer_message():
    text = decode(render_prompt([{"role": "user", "content": "hi"}], []))
    assert "<|start|>developer" not in text and "Calls to these tools" not in text


@pytest.mark.parametrize("bad, needle", [
    ({"role": "robot", "content": "x"}, "role must be one of"),
    ({"role": "tool", "content": "x"}, "needs 'name'"),
    ({"role": "assistant", "channel": "thoughts", "content": "x"}, "channel must be one of"),
    ({"role": "user", "content": 3}, "content must be a string"),
])
def test_bad_messages_raise_typed_error(bad, needle):
    with pytest.raises(HarmonyRenderError, match=needle):
        render_prompt([bad], TOOLS)
