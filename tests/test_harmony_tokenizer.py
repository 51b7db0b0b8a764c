"""The HF fast tokenizer has exactly openai-harmony's ids."""

from __future__ import annotations

import pytest

from cargogym.harmony.render import get_encoding, render_prompt
from cargogym.harmony.tokenizer import FIRST_SPECIAL, VOCAB_SIZE, build_hf_tokenizer, special_tokens

TEXTS = [
    "hello world",
    "héllo wörld — 日本語のテキスト, emoji 😀🦀, Ελληνικά, русский, العربية",
    "fn main() {\n    let v: Vec<u8> = vec![1, 2, 3];\n    println!(\"{:?}\", v.iter().sum::<u8>());\n}\n",
    "    indented\t\ttabs\r\n\r\nwindows   trailing   \n\n\n",
    "I'm sure they'll've DON'T 1234567890 3.14159 0xDEADbeef",
    "<|start|>assistant<|channel|>final<|message|>done<|return|>",
    "text<|endoftext|>more<|reserved_200100|><|call|><|constrain|>json",
    "diff --git a/src/lib.rs b/src/lib.rs\n@@ -1,3 +1,3 @@\n-    a - b\n+    a + b\n",
    "",
]


@pytest.fixture(scope="module")
def tok():
    return build_hf_tokenizer()


@pytest.mark.parametrize("text", TEXTS)
def test_same_ids_as_openai_harmony(tok, text):
    ids = get_encoding().encode(text, allowed_special="all")
    assert tok.encode(text, add_special_tokens=True) == ids
    assert tok.decode(ids) == text


def test_special_tokens_and_sizes(tok):
    specials = special_tokens()
    assert len(tok) == VOCAB_SIZE == 201088
    assert specials["<|start|>"] == 200006 and specials["<|call|>"] == 200012
    for name, i in specials.items():
        assert tok.convert_tokens_to_ids(name) == i
    assert min(specials.values()) == FIRST_SPECIAL
    assert tok.eos_token_id == 200002 and tok.pad_token_id == 199999 and tok.bos_token_id == 199998


def test_rendered_prompt_round_trips_through_hf(tok):
    ids = render_prompt([{"role": "user", "content": "fix ünïcode 🦀"}],
                        [{"name": "run_tests", "description": "Run tests", "parameters": {"type": "object"}}])
    assert tok.encode(tok.decode(ids)) == ids
