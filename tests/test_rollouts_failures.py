"""Failure classification of rollouts (no Ray cluster needed): what is retried, what is recorded
once, and one conversation a model server refuses does not fail the rest of the batch."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import ray.exceptions as rex

from cargogym.envs.rust_repo import EnvUsageError
from cargogym.policies.base import Sampling
from cargogym.policies.openai_compat import OpenAICompatiblePolicy, PolicyServerError
from cargogym.rollouts.runner import error_summary, failure_record, generate_each, is_infra_error
from cargogym.rollouts.worker import SlotLostError
from cargogym.sandbox.exec import SandboxError
from cargogym.sandbox.workspace import TaskSetupError, WorkspaceError


def _in_actor(cause):
    """What ``ray.get`` raises when ``cause`` was raised inside an actor method."""
    return rex.RayTaskError("EnvWorkerImpl.run_episode", "Traceback (most recent call last): ...", cause).as_instanceof_cause()


@pytest.mark.parametrize("error", [
    rex.ActorDiedError(), rex.WorkerCrashedError(), rex.ObjectLostError("0" * 56, "", ""),
    _in_actor(SandboxError("cannot create a pids cgroup")), _in_actor(WorkspaceError("workspace lost its mount")),
    _in_actor(SlotLostError("slot 0")), _in_actor(OSError(28, "No space left on device")),
    PolicyServerError("model server failed after 4 attempt(s)"),
])
def test_machinery_failures_are_infra(error):
    assert is_infra_error(error)


@pytest.mark.parametrize("error", [
    _in_actor(EnvUsageError("render_mode 'video' not supported")), _in_actor(KeyError("turns")),
    _in_actor(TypeError("unexpected keyword argument 'bogus'")), ValueError("bad conversation"),
    _in_actor(TaskSetupError("task t: setup_patch does not apply: hunk #1 of src/lib.rs")),
])
def test_episode_errors_are_not_infra(error):
    assert not is_infra_error(error)


def test_failure_record_names_the_cause():
    spec = {"episode_key": "t#0", "attempt": 0}
    rec = failure_record(spec, _in_actor(EnvUsageError("render_mode 'video' not supported")), 1)
    assert rec["kind"] == "episode_error" and rec["attempts"] == 1 and rec["episode_key"] == "t#0"
    assert rec["error"] == "EnvUsageError: render_mode 'video' not supported"
    assert failure_record(spec, rex.ActorDiedError(), 3)["kind"] == "infra"
    assert error_summary(PolicyServerError("down\nmore")) == "PolicyServerError: down"
    json.dumps(rec)  # one JSON line


def test_one_refused_conversation_does_not_fail_the_batch():
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            refused = "poison" in json.dumps(body["messages"])
            payload = {"error": "context too long"} if refused else {"choices": [
                {"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
            data = json.dumps(payload).encode()
            self.send_response(400 if refused else 200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        policy = OpenAICompatiblePolicy(f"http://127.0.0.1:{httpd.server_address[1]}/v1", max_retries=0)
        views = [{"messages": [{"role": "user", "content": text}], "tools": []} for text in ("fix it", "poison", "go")]
        out = generate_each(policy, views, Sampling())
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert [type(o).__name__ for o in out] == ["Completion", "PolicyServerError", "Completion"]
    assert "HTTP 400" in str(out[1]) and "ok" in out[0].text and "ok" in out[2].text
