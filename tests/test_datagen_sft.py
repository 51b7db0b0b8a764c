"""Exported data is usable by TRL: SFTTrainer trains a real tiny GptOssForCausalLM on the mix's
dataset (loss only on assistant tokens), and the OpenAI-compatible teacher plays a real env."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cargogym.datagen.mix import MixConfig, build_mix, to_dataset
from cargogym.datagen.samples import make_sample, validate_sample


def _samples():
    tools = [{"name": "run_tests", "description": "Run cargo test.", "parameters": {"type": "object", "properties": {}}}]
    out = []
    for i, kind in enumerate(["single_agent"] * 3 + ["multi_role", "delegation"]):
        msgs = [{"role": "user", "content": f"Fix bug {i}."},
                {"role": "assistant", "channel": "analysis", "content": "Run the tests."},
                {"role": "assistant", "channel": "commentary", "recipient": "functions.run_tests",
                 "content_type": "json", "content": "{}"},
                {"role": "tool", "name": "functions.run_tests", "content": "cargo test: 3 passed, 0 failed"},
                {"role": "assistant", "channel": "final", "content": f"Fixed {i}."}]
        out.append(make_sample(id=f"s{i}", messages=msgs, tools=tools, source="teacher", kind=kind, resolved=True))
    return out


def test_sft_trainer_trains_tiny_gpt_oss_on_mix(tmp_path):
    torch = pytest.importorskip("torch")
    from transformers import GptOssConfig, GptOssForCausalLM
    from trl import SFTConfig, SFTTrainer

    from cargogym.harmony.tokenizer import build_hf_tokenizer

    rows, summary = build_mix(_samples(), MixConfig(ratios={"single_agent": 0.6, "multi_role": 0.2, "delegation": 0.2}))
    assert summary["taken"] == {"single_agent": 3, "multi_role": 1, "delegation": 1}
    ds = to_dataset(rows)
    torch.manual_seed(0)
    model = GptOssForCausalLM(GptOssConfig(
        vocab_size=201088, hidden_size=32, intermediate_size=32, head_dim=8, num_attention_heads=4,
        num_key_value_heads=2, num_hidden_layers=1, num_local_experts=2, num_experts_per_tok=1,
        sliding_window=8, attn_implementation="eager"))
    args = SFTConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, bf16=False, use_cpu=True,
                     report_to=[], save_strategy="no", max_length=512, logging_steps=1)
    trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=build_hf_tokenizer())
    batch = next(iter(trainer.get_train_dataloader()))
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    trained = ids[labels != -100].tolist()
    text = build_hf_tokenizer().decode(trained)
    assert "Run the tests." in text and text.endswith("<|return|>")
    assert "3 passed" not in text and "Fix bug" not in text      # tool output / prompt are not trained on
    before = [p.detach().clone() for p in model.parameters()]
    out = trainer.train()
    assert out.training_loss > 0
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))


class _ScriptedServer:
    """A real OpenAI-compatible HTTP endpoint on loopback answering with scripted tool calls."""

    def __init__(self, replies):
        self.replies, self.bodies = list(replies), []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                msg = outer.replies.pop(0) if outer.replies else {"role": "assistant", "content": "APPROVE"}
                data = json.dumps({"choices": [{"message": msg, "finish_reason": "stop"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_openai_endpoint_teacher_plays_real_env(envs_ledger_suite):
    from cargogym.datagen.openai_teacher import parse_endpoint, run_endpoint_episode
    from cargogym.datagen.records import episode_samples
    from cargogym.policies.openai_compat import OpenAICompatiblePolicy

    task = envs_ledger_suite["review_clean"]
    server = _ScriptedServer([
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "src/money.rs"}'}}]},
        {"role": "assistant", "content": "APPROVE: a comment only; behaviour unchanged.", "reasoning_content": "Only a comment."},
    ])
    try:
        url, model = parse_endpoint(server.url + "@my-model")
        assert model == "my-model"
        rec = run_endpoint_episode(task, OpenAICompatiblePolicy(url, model=model), seed=0)
    finally:
        server.close()
    assert rec["review_verdict"] == "APPROVE" and rec["grading"]["resolved"]
    assert server.bodies[0]["tools"] and server.bodies[1]["messages"][-1]["role"] == "tool"
    (s,) = episode_samples(rec, source="openai_teacher")
    validate_sample(s)
    tool_msg = [m for m in s["messages"] if m["role"] == "tool"][0]
    assert tool_msg["content"] == rec["turns"][0]["observation"] and "pub fn" in tool_msg["content"]
    assert s["text"].endswith("APPROVE: a comment only; behaviour unchanged.<|return|>")
