"""OpenAICompatiblePolicy: chat/completions against a model server (vLLM serving gpt-oss-20b is
the production path; any OpenAI-compatible server works).

Per request: a timeout, bounded retries with exponential backoff on connection errors, timeouts,
HTTP 429 and 5xx (other 4xx fail at once), and a concurrency limit across the batch. Native tool
calls come back as structured ``action`` dicts the env accepts; plain content becomes a Harmony
final message.

Token ids and logprobs: with ``logprobs=True`` (the default) each request asks for
``"logprobs": true`` and vLLM's ``"return_tokens_as_token_ids": true``, so vLLM answers every
sampled token as ``"token_id:<id>"`` with its log-probability, and the completion carries
``token_ids`` + ``logprobs`` (what GRPO needs). A server that ignores the extra field answers
tokens as text: the completion then has text only (empty ``token_ids`` / ``logprobs``), as with
``logprobs=False``, which sends neither field.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cargogym.errors import CargogymError
from cargogym.policies.base import Completion, Sampling

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}


class PolicyServerError(CargogymError):
    """The model server could not produce a completion (after the allowed retries)."""


def to_openai_messages(messages: list[dict[str, Any]], developer_role: str = "developer") -> list[dict[str, Any]]:
    """cargogym message dicts → OpenAI chat messages (tool calls paired with their results)."""
    out: list[dict[str, Any]] = []
    pending: list[str] = []  # ids of tool calls awaiting a result, in order
    n_calls = 0
    for m in messages:
        role = m.get("role")
        content = m.get("content", "")
        if role == "developer":
            out.append({"role": developer_role, "content": content})
        elif role in ("system", "user"):
            out.append({"role": role, "content": content})
        elif role == "assistant":
            recipient = m.get("recipient")
            if recipient:
                n_calls += 1
                call_id = f"call_{n_calls}"
                pending.append(call_id)
                name = recipient.split(".", 1)[1] if recipient.startswith("functions.") else recipient
                out.append({"role": "assistant", "content": None, "tool_calls": [
                    {"id": call_id, "type": "function", "function": {"name": name, "arguments": content}}]})
            elif m.get("channel") == "analysis":
                continue  # reasoning of earlier turns is not sent back (as gpt-oss's chat template does)
            else:
                out.append({"role": "assistant", "content": content})
        elif role == "tool":
            call_id = pending.pop(0) if pending else f"call_{n_calls}"
            out.append({"role": "tool", "tool_call_id": call_id, "content": content})
    return out


def to_openai_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if not tools:
        return None
    return [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                              "parameters": t.get("parameters", {"type": "object"})}} for t in tools]


class OpenAICompatiblePolicy:
    def __init__(self, base_url: str, model: str = "openai/gpt-oss-20b", api_key: str | None = None,
                 timeout: float = 120.0, max_retries: int = 3, backoff: float = 0.5, max_backoff: float = 8.0,
                 concurrency: int = 8, name: str | None = None, logprobs: bool = True):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.concurrency = max(1, concurrency)
        self.name = name or f"openai:{model}"
        self.logprobs = logprobs
        self.requests_sent = 0

    def generate(self, conversations, sampling: Sampling, tools=None) -> list[Completion]:
        tools = tools or [None] * len(conversations)
        with ThreadPoolExecutor(max_workers=min(self.concurrency, max(1, len(conversations)))) as pool:
            return list(pool.map(lambda ct: self._one(ct[0], ct[1], sampling), zip(conversations, tools)))

    # -- one request -------------------------------------------------------------------------
    def _payload(self, messages, tools, sampling: Sampling) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model, "messages": to_openai_messages(messages),
            "temperature": sampling.temperature, "top_p": sampling.top_p,
            "max_tokens": sampling.max_new_tokens,
        }
        if self.logprobs:  # vLLM: sampled tokens as "token_id:<id>" (ids, not text)
            body.update(logprobs=True, return_tokens_as_token_ids=True)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        oa_tools = to_openai_tools(tools)
        if oa_tools:
            body["tools"] = oa_tools
        return body

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last_error = "no attempt"
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
            req = urllib.request.Request(f"{self.base_url}/chat/completions", data=data, headers=headers, method="POST")
            self.requests_sent += 1
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read().decode())
            except urllib.error.HTTPError as e:
                last_error = f"HTTP {e.code}: {e.read()[:200].decode(errors='replace')}"
                if e.code not in RETRYABLE_STATUS:
                    break
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
                last_error = f"{type(e).__name__}: {e}"
            except json.JSONDecodeError as e:
                last_error = f"server returned invalid JSON: {e}"
        raise PolicyServerError(f"model server {self.base_url} failed after {attempt + 1} attempt(s): {last_error}")

    def _one(self, messages, tools, sampling: Sampling) -> Completion:
        resp = self._post(self._payload(messages, tools, sampling))
        try:
            choice = resp["choices"][0]
            msg = choice.get("message", {})
        except (KeyError, IndexError, TypeError) as e:
            raise PolicyServerError(f"model server returned no choices: {str(resp)[:200]}") from e
        token_ids, logprobs = _logprobs(choice)
        calls = msg.get("tool_calls") or []
        if calls:
            fn = calls[0].get("function", {})
            raw_args = fn.get("arguments") or "{}"
            try:
                args = json.loads(raw_args)
            except json.JSONDecodeError:
                args = raw_args  # the env answers with a clear error observation
            text = (f"<|channel|>commentary to=functions.{fn.get('name')} <|constrain|>json"
                    f"<|message|>{raw_args}<|call|>")
            return Completion(text=text, token_ids=token_ids, logprobs=logprobs,
                              action={"tool": fn.get("name"), "arguments": args},
                              finish_reason=choice.get("finish_reason") or "tool_calls")
        content = msg.get("content") or ""
        reasoning = msg.get("reasoning_content") or msg.get("reasoning") or ""
        text = (f"<|channel|>analysis<|message|>{reasoning}<|end|><|start|>assistant" if reasoning else "")
        text += f"<|channel|>final<|message|>{content}<|return|>"
        return Completion(text=text, token_ids=token_ids, logprobs=logprobs,
                          finish_reason=choice.get("finish_reason") or "stop")


def parse_token_id(token: Any) -> int | None:
    """``"token_id:123"`` (vLLM with ``return_tokens_as_token_ids``) → 123; anything else → None."""
    if not isinstance(token, str) or not token.startswith("token_id:"):
        return None
    digits = token[len("token_id:"):]
    return int(digits) if digits.isdigit() else None


def _logprobs(choice: dict[str, Any]) -> tuple[list[int], list[float]]:
    """Token ids and log-probs of a choice; both empty unless every token came back as an id."""
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    ids, lps = [], []
    for item in content or []:
        tid = parse_token_id(item.get("token")) if isinstance(item, dict) else None
        lp = item.get("logprob") if isinstance(item, dict) else None
        if tid is None or not isinstance(lp, (int, float)) or isinstance(lp, bool):
            return [], []
        ids.append(tid)
        lps.append(float(lp))
    return ids, lps
