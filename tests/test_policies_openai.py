"""OpenAICompatiblePolicy against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cargogym.policies.base import Sampling
from cargogym.policies.openai_compat import OpenAICompatiblePolicy, PolicyServerError, to_openai_messages


class _Server:
    def __init__(self, behaviour):
        self.behaviour = behaviour  # fn(request_index, body) -> (status, payload | None, delay)
        self.count = 0
        self.active = 0
        self.max_active = 0
        self.bodies = []
        self.times = []  # monotonic arrival time of each request
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    idx = server.count
                    server.count += 1
                    server.times.append(time.monotonic())
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                    server.bodies.append(body)
                try:
                    status, payload, delay = server.behaviour(idx, body)
                    time.sleep(delay)
                    data = json.dumps(payload or {}).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server.lock:
                        server.active -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _content(text, ids=(1, 2)):
    return {"choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                         "logprobs": {"content": [{"token": f"token_id:{i}", "logprob": -0.5} for i in ids]}}]}


def _vllm(body, text="done", ids=(200005, 17196, 200008, 13, 200002), lps=(-0.1, -1.25, -0.5, -2.0, -0.01)):
    """A chat/completions answer in vLLM's shape: tokens are "token_id:<id>" only when the request
    asked for ``return_tokens_as_token_ids``, else their text (as a server ignoring it answers)."""
    if not body.get("logprobs"):
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "logprobs": None, "finish_reason": "stop"}]}
    as_ids = bool(body.get("return_tokens_as_token_ids"))
    content = [{"token": f"token_id:{i}" if as_ids else f"tok{i}", "logprob": lp,
                "bytes": list(f"tok{i}".encode()), "top_logprobs": []} for i, lp in zip(ids, lps)]
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "tool_calls": []},
                         "logprobs": {"content": content}, "finish_reason": "stop", "stop_reason": None}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(ids), "total_tokens": 10 + len(ids)}}


@pytest.fixture
def server_factory():
    servers = []

    def make(behaviour):
        s = _Server(behaviour)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


CONV = [{"role": "system", "content": "sys"}, {"role": "user", "content": "fix the crate"}]


def test_retries_on_503_then_succeeds(server_factory):
    srv = server_factory(lambda i, b: (503, {"error": "busy"}, 0) if i < 2 else (200, _content("done"), 0))
    pol = OpenAICompatiblePolicy(srv.url, max_retries=3, backoff=0.01)
    (c,) = pol.generate([CONV], Sampling(max_new_tokens=8))
    assert srv.count == 3
    assert "done" in c.text and c.token_ids == [1, 2] and c.logprobs == [-0.5, -0.5]
    assert srv.bodies[0]["max_tokens"] == 8 and srv.bodies[0]["messages"][1]["content"] == "fix the crate"


def test_gives_up_after_bounded_retries(server_factory):
    srv = server_factory(lambda i, b: (500, {"error": "boom"}, 0))
    pol = OpenAICompatiblePolicy(srv.url, max_retries=2, backoff=0.01)
    with pytest.raises(PolicyServerError, match="3 attempt"):
        pol.generate([CONV], Sampling())
    assert srv.count == 3


def test_client_error_is_not_retried(server_factory):
    srv = server_factory(lambda i, b: (400, {"error": "bad request"}, 0))
    pol = OpenAICompatiblePolicy(srv.url, max_retries=3, backoff=0.01)
    with pytest.raises(PolicyServerError, match="HTTP 400"):
        pol.generate([CONV], Sampling())
    assert srv.count == 1


def test_timeout_is_retried_then_fails(server_factory):
    srv = server_factory(lambda i, b: (200, _content("late"), 1.0))
    pol = OpenAICompatiblePolicy(srv.url, timeout=0.2, max_retries=1, backoff=0.01)
    with pytest.raises(PolicyServerError, match="2 attempt"):
        pol.generate([CONV], Sampling())


def test_concurrency_limit_is_respected(server_factory):
    srv = server_factory(lambda i, b: (200, _content(f"c{i}"), 0.15))
    pol = OpenAICompatiblePolicy(srv.url, concurrency=2)
    outs = pol.generate([CONV] * 6, Sampling())
    assert len(outs) == 6 and srv.count == 6
    assert srv.max_active <= 2


def test_tool_call_becomes_structured_action(server_factory):
    payload = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
        {"id": "x", "type": "function", "function": {"name": "run_tests", "arguments": "{\"filter\": \"cache\"}"}}]},
        "finish_reason": "tool_calls"}]}
    srv = server_factory(lambda i, b: (200, payload, 0))
    pol = OpenAICompatiblePolicy(srv.url)
    tools = [{"name": "run_tests", "description": "run", "parameters": {"type": "object", "properties": {}}}]
    (c,) = pol.generate([CONV], Sampling(), tools=[tools])
    assert c.action == {"tool": "run_tests", "arguments": {"filter": "cache"}}
    assert srv.bodies[0]["tools"][0]["function"]["name"] == "run_tests"


def test_message_conversion_pairs_calls_and_results():
    msgs = CONV + [
        {"role": "assistant", "channel": "analysis", "content": "thinking"},
        {"role": "assistant", "channel": "commentary", "recipient": "functions.read_file", "content": "{\"path\": \"a\"}"},
        {"role": "tool", "name": "functions.read_file", "content": "fn main() {}"},
    ]
    out = to_openai_messages(msgs)
    assert [m["role"] for m in out] == ["system", "user", "assistant", "tool"]
    assert out[2]["tool_calls"][0]["id"] == out[3]["tool_call_id"]
    assert out[2]["tool_calls"][0]["function"]["name"] == "read_file"


def test_vllm_token_ids_and_logprobs_are_requested_and_recorded(server_factory):
    srv = server_factory(lambda i, b: (200, _vllm(b), 0))
    (c,) = OpenAICompatiblePolicy(srv.url).generate([CONV], Sampling(max_new_tokens=8))
    assert srv.bodies[0]["logprobs"] is True and srv.bodies[0]["return_tokens_as_token_ids"] is True
    assert c.token_ids == [200005, 17196, 200008, 13, 200002]
    assert c.logprobs == [-0.1, -1.25, -0.5, -2.0, -0.01]
    action = c.to_action()
    assert action["token_ids"] == c.token_ids and len(action["logprobs"]) == len(action["token_ids"])


def test_server_ignoring_token_ids_gives_text_only(server_factory):
    srv = server_factory(lambda i, b: (200, _vllm({**b, "return_tokens_as_token_ids": False}), 0))
    (c,) = OpenAICompatiblePolicy(srv.url).generate([CONV], Sampling())
    assert "done" in c.text and c.token_ids == [] and c.logprobs == []


def test_logprobs_off_sends_neither_field(server_factory):
    srv = server_factory(lambda i, b: (200, _vllm(b), 0))
    (c,) = OpenAICompatiblePolicy(srv.url, logprobs=False).generate([CONV], Sampling())
    assert "logprobs" not in srv.bodies[0] and "return_tokens_as_token_ids" not in srv.bodies[0]
    assert "done" in c.text and c.token_ids == []


def test_retries_wait_at_least_the_configured_backoff(server_factory):
    srv = server_factory(lambda i, b: (503, {"error": "busy"}, 0) if i < 2 else (200, _content("ok"), 0))
    pol = OpenAICompatiblePolicy(srv.url, max_retries=3, backoff=0.2, max_backoff=8.0)
    (c,) = pol.generate([CONV], Sampling())
    assert "ok" in c.text and srv.count == 3
    gaps = [b - a for a, b in zip(srv.times, srv.times[1:])]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4, gaps  # backoff, then doubled
