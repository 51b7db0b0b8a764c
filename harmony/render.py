"""Render cargogym conversations (message dicts, see docs/CONTRACTS.md) with openai-harmony.

Contract:
- ``render_prompt(messages, tools, role_prompt=None)`` -> token ids ending with ``<|start|>assistant``
  (what GPT-OSS continues). Same ids as ``HarmonyEncoding.render_conversation_for_completion``
  with the library's default config (analysis of finished turns dropped).
- ``render_training(messages, tools, role_prompt=None)`` -> ``(ids, mask)``; a conversation that
  ends with an assistant ``final`` message ends with ``<|return|>``; ``mask[i] == 1`` exactly for
  the tokens the model generates given :func:`render_prompt` of the preceding messages (assistant
  messages, minus the ``<|start|>assistant`` header the prompt already holds). All analysis is
  kept (``auto_drop_analysis=False``): an agent episode is one user turn, so the model saw its
  earlier reasoning while acting.
- ``decode(ids)`` -> text (lossy only for invalid UTF-8).

The system message is ``SystemContent`` (the library defaults; a ``system`` message's content,
when given, replaces the model identity line). Tools go into the developer message as the
``functions`` namespace; ``role_prompt`` is placed first in the developer instructions.

Speed: the encoding is loaded once per process; each message is rendered once and cached (LRU),
so re-rendering a growing RL conversation costs only its new messages.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from cargogym.errors import CargogymError

ROLES = ("system", "developer", "user", "assistant", "tool")
CHANNELS = ("analysis", "commentary", "final")
NAMESPACE = "functions"

# Harmony formatting tokens (ids equal in openai-harmony and build_hf_tokenizer()).
START, END, MESSAGE, CHANNEL = 200006, 200007, 200008, 200005
CONSTRAIN, RETURN, CALL = 200003, 200002, 200012
ASSISTANT_TOKEN = 173781  # "assistant" right after <|start|>


class HarmonyRenderError(CargogymError, ValueError):
    """A message dict or tool definition that cannot be rendered (message names the problem)."""


@functools.lru_cache(maxsize=1)
def get_encoding():
    """The HarmonyGptOss encoding, loaded once per process (needs the offline vocabulary)."""
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    from cargogym.harmony.vocab import require_vocab

    require_vocab()
    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


# ----------------------------------------------------------------------------- message building


def _qualify(name: str) -> str:
    return name if "." in name else f"{NAMESPACE}.{name}"


def normalise_content_type(content_type: str | None) -> str | None:
    """``"<|constrain|>json"`` / ``" json"`` -> ``"json"``; ``None`` stays ``None``."""
    if content_type is None:
        return None
    ct = content_type.replace("<|constrain|>", "").strip()
    return ct or None


def _tool_descriptions(tools: Sequence[dict] | None) -> list:
    from openai_harmony import ToolDescription

    out = []
    for i, t in enumerate(tools or []):
        if not isinstance(t, dict) or not t.get("name"):
            raise HarmonyRenderError(f"tool #{i} needs a 'name' (got {t!r:.80})")
        name = t["name"]
        if name.startswith(NAMESPACE + "."):
            name = name[len(NAMESPACE) + 1 :]
        out.append(ToolDescription.new(name, t.get("description", ""), t.get("parameters")))
    return out


def _check(msg: Any, i: int) -> dict:
    if not isinstance(msg, dict):
        raise HarmonyRenderError(f"message #{i} is not a dict: {msg!r:.80}")
    role = msg.get("role")
    if role not in ROLES:
        raise HarmonyRenderError(f"message #{i}: role must be one of {ROLES}, got {role!r}")
    if not isinstance(msg.get("content", ""), str):
        raise HarmonyRenderError(f"message #{i} ({role}): content must be a string")
    ch = msg.get("channel")
    if ch is not None and ch not in CHANNELS:
        raise HarmonyRenderError(f"message #{i} ({role}): channel must be one of {CHANNELS}, got {ch!r}")
    if role == "tool" and not msg.get("name"):
        raise HarmonyRenderError(f"message #{i}: a tool result needs 'name' (e.g. 'functions.run_tests')")
    return msg


def _system_message(identity: str | None):
    from openai_harmony import Message, Role, SystemContent

    sc = SystemContent.new()
    if identity:
        sc = sc.with_model_identity(identity)
    return Message.from_role_and_content(Role.SYSTEM, sc)


def _developer_message(instructions: str | None, tools_json: str):
    from openai_harmony import DeveloperContent, Message, Role

    dc = DeveloperContent.new()
    if instructions:
        dc = dc.with_instructions(instructions)
    tools = json.loads(tools_json)
    if tools:
        dc = dc.with_function_tools(_tool_descriptions(tools))
    return Message.from_role_and_content(Role.DEVELOPER, dc)


def _plain_message(role: str, content: str, channel: str | None, recipient: str | None,
                   name: str | None, content_type: str | None):
    from openai_harmony import Author, Message, Role

    if role == "tool":
        m = Message.from_author_and_content(Author.new(Role.TOOL, _qualify(name or "")), content)
        m = m.with_channel(channel or "commentary").with_recipient(recipient or "assistant")
        return m
    m = Message.from_role_and_content(Role(role), content)
    if role == "assistant":
        if recipient:
            m = m.with_recipient(_qualify(recipient)).with_channel(channel or "commentary")
            ct = normalise_content_type(content_type)
            if ct:
                m = m.with_content_type(f"<|constrain|>{ct}")
        elif channel:
            m = m.with_channel(channel)
    return m


@functools.lru_cache(maxsize=8192)
def _render_cached(kind: str, a: str | None, b: str | None, c: str | None, d: str | None,
                   e: str | None, f: str | None, has_tools: bool) -> tuple[int, ...]:
    from openai_harmony import RenderOptions

    if kind == "system":
        m = _system_message(a)
    elif kind == "developer":
        m = _developer_message(a, b or "[]")
    else:
        m = _plain_message(kind, a or "", b, c, d, e)
    opts = RenderOptions(conversation_has_function_tools=has_tools)
    return tuple(get_encoding().render(m, opts))


def _tools_key(tools: Sequence[dict] | None) -> str:
    return json.dumps(list(tools or []), sort_keys=True, ensure_ascii=False)


def _plan(messages: Sequence[dict], tools: Sequence[dict] | None,
          role_prompt: str | None) -> list[tuple]:
    """Cache keys, one per rendered message: system, developer (if any), then the rest in order."""
    msgs = [_check(m, i) for i, m in enumerate(messages)]
    identity = next((m.get("content") for m in msgs if m["role"] == "system"), None)
    dev_parts = [role_prompt] if role_prompt else []
    dev_parts += [m.get("content") or "" for m in msgs if m["role"] == "developer"]
    instructions = "\n\n".join(p for p in dev_parts if p) or None
    tools_json = _tools_key(tools)
    has_tools = bool(tools)
    keys: list[tuple] = [("system", identity, None, None, None, None, None, has_tools)]
    if instructions or has_tools:
        keys.append(("developer", instructions, tools_json, None, None, None, None, has_tools))
    for m in msgs:
        if m["role"] in ("system", "developer"):
            continue
        keys.append((m["role"], m.get("content") or "", m.get("channel"), m.get("recipient"),
                     m.get("name"), m.get("content_type"), None, has_tools))
    return keys


def _channel_of(key: tuple) -> str | None:
    if key[0] == "assistant":
        return key[2] or ("commentary" if key[3] else None)
    if key[0] == "tool":
        return key[2] or "commentary"
    return None


def _dropped(keys: list[tuple]) -> set[int]:
    """Indices the library drops with ``auto_drop_analysis=True`` (harmony's encoding.rs rule):
    when the last assistant message is ``final``, analysis messages before the first ``final``."""
    last_assistant = next((k for k in reversed(keys) if k[0] == "assistant"), None)
    if last_assistant is None or _channel_of(last_assistant) != "final":
        return set()
    first_final = next(i for i, k in enumerate(keys) if _channel_of(k) == "final")
    return {i for i, k in enumerate(keys[:first_final]) if _channel_of(k) == "analysis"}


# ----------------------------------------------------------------------------- public API


def to_harmony_messages(messages: Sequence[dict], tools: Sequence[dict] | None = None,
                        role_prompt: str | None = None) -> list:
    """The openai-harmony ``Message`` objects :func:`render_prompt` renders (system, developer, rest)."""
    out = []
    for k in _plan(messages, tools, role_prompt):
        if k[0] == "system":
            out.append(_system_message(k[1]))
        elif k[0] == "developer":
            out.append(_developer_message(k[1], k[2]))
        else:
            out.append(_plain_message(*k[:6]))
    return out


def to_conversation(messages: Sequence[dict], tools: Sequence[dict] | None = None,
                    role_prompt: str | None = None):
    """An openai-harmony ``Conversation`` of :func:`to_harmony_messages`."""
    from openai_harmony import Conversation

    return Conversation.from_messages(to_harmony_messages(messages, tools, role_prompt))


def render_prompt(messages: Sequence[dict], tools: Sequence[dict] | None = None,
                  role_prompt: str | None = None) -> list[int]:
    """Token ids of the conversation followed by ``<|start|>assistant`` (for completion)."""
    keys = _plan(messages, tools, role_prompt)
    drop = _dropped(keys)
    ids: list[int] = []
    for i, k in enumerate(keys):
        if i not in drop:
            ids.extend(_render_cached(*k))
    ids.append(START)
    ids.append(ASSISTANT_TOKEN)
    return ids


def render_training(messages: Sequence[dict], tools: Sequence[dict] | None = None,
                    role_prompt: str | None = None) -> tuple[list[int], list[int]]:
    """``(ids, mask)`` for supervised training; see the module docstring for the mask rule."""
    keys = _plan(messages, tools, role_prompt)
    ids: list[int] = []
    mask: list[int] = []
    prev_assistant = False
    for k in keys:
        toks = _render_cached(*k)
        ids.extend(toks)
        if k[0] == "assistant":
            if prev_assistant:
                mask.extend([1] * len(toks))
            else:  # <|start|>assistant belongs to the prompt
                mask.extend([0, 0] + [1] * (len(toks) - 2))
            prev_assistant = True
        else:
            mask.extend([0] * len(toks))
            prev_assistant = False
    if keys[-1][0] == "assistant" and _channel_of(keys[-1]) == "final" and ids[-1] == END:
        ids[-1] = RETURN
    return ids, mask


def render_text(messages: Sequence[dict], tools: Sequence[dict] | None = None,
                role_prompt: str | None = None, training: bool = True) -> str:
    """Harmony text of a conversation (training form by default, else the completion prompt)."""
    if training:
        return decode(render_training(messages, tools, role_prompt)[0])
    return decode(render_prompt(messages, tools, role_prompt))


def decode(ids: Sequence[int]) -> str:
    """Text of token ids, special tokens spelled out (invalid UTF-8 replaced)."""
    return get_encoding().decode(list(ids))


def encode(text: str) -> list[int]:
    """Token ids of Harmony text; special-token spellings become special tokens."""
    return get_encoding().encode(text, allowed_special="all")
