"""cargogym.harmony: GPT-OSS's Harmony chat format via openai-harmony.

- ``render``: conversations (message dicts) -> token ids for completion / training (+ loss mask)
- ``parse``: completions -> messages and the tool call (both header orders), full conversations back
- ``tokenizer``: an HF fast tokenizer with openai-harmony's ids
- ``formatters``: selectable formatters (``harmony`` default, ``seed`` dialect in ``seed_dialect``)
- ``multi_agent``: the seed's multi-role / delegation trajectories <-> training conversations
- ``vocab``: the offline o200k vocabulary
"""
