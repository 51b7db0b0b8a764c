"""A Hugging Face fast tokenizer with exactly openai-harmony's ids (o200k + Harmony specials).

``build_hf_tokenizer()`` converts the offline ``o200k_base.tiktoken`` with transformers'
``TikTokenConverter`` (o200k's split pattern) and adds the Harmony special tokens
199998..201087 under the names openai-harmony decodes them to (``<|start|>`` = 200006, ...), so
``tok.encode(text)`` equals ``HarmonyEncoding.encode(text, allowed_special="all")``. 201087 is the
last id (GPT-OSS has 201088 embedding rows). bos ``<|startoftext|>``, eos ``<|return|>``, pad
``<|endoftext|>`` as in the GPT-OSS checkpoints; no BOS/EOS is added on encode.

The conversion takes seconds, so the result is saved next to the vocabulary
(``<vocab dir>/hf_tokenizer-<sha8>/``) and reused; in-process it is built once.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from cargogym.harmony.vocab import VOCAB_FILENAME, VOCAB_SHA256, require_vocab

FIRST_SPECIAL = 199998
LAST_SPECIAL = 201087
VOCAB_SIZE = LAST_SPECIAL + 1

O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])


def special_tokens() -> dict[str, int]:
    """Harmony special token name -> id, as openai-harmony decodes ids 199998..201087."""
    from cargogym.harmony.render import get_encoding

    enc = get_encoding()
    return {enc.decode([i]): i for i in range(FIRST_SPECIAL, VOCAB_SIZE)}


def _cache_dir() -> Path:
    return require_vocab() / f"hf_tokenizer-{VOCAB_SHA256[:8]}"


def _convert(vocab_file: Path):
    from tokenizers import AddedToken
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    specials = special_tokens()
    backend = TikTokenConverter(vocab_file=str(vocab_file), pattern=O200K_PATTERN).converted()
    n_base = backend.get_vocab_size()
    if n_base != FIRST_SPECIAL:
        raise RuntimeError(f"o200k vocabulary has {n_base} tokens, expected {FIRST_SPECIAL}")
    # ids are assigned in order; all names are distinct, so id == FIRST_SPECIAL + position.
    ordered = sorted(specials.items(), key=lambda kv: kv[1])
    backend.add_special_tokens([AddedToken(name, normalized=False, special=True) for name, _ in ordered])
    for name, i in ordered:
        got = backend.token_to_id(name)
        if got != i:
            raise RuntimeError(f"special token {name} got id {got}, openai-harmony has {i}")
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<|startoftext|>", eos_token="<|return|>",
        pad_token="<|endoftext|>", model_max_length=131072, clean_up_tokenization_spaces=False)


@functools.lru_cache(maxsize=1)
def build_hf_tokenizer():
    """The ``PreTrainedTokenizerFast`` (cached on disk and in-process; see module docstring)."""
    from transformers import PreTrainedTokenizerFast

    cache = _cache_dir()
    if (cache / "tokenizer.json").is_file():
        try:
            return PreTrainedTokenizerFast.from_pretrained(str(cache))
        except Exception:  # corrupt cache: rebuild below
            pass
    tok = _convert(require_vocab() / VOCAB_FILENAME)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".hf_tokenizer-", dir=cache.parent))
        tok.save_pretrained(str(tmp))
        try:
            os.replace(tmp, cache)
        except OSError:  # another process won the race
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        pass  # read-only vocab dir: fine, just slower next time
    return tok
