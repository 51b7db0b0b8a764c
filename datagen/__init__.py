"""cargogym.datagen: grounded training data.

- ``teacher`` (scripted, gold patch, real env results), ``openai_teacher`` (any OpenAI-compatible server)
- ``run``: parallel teacher runs -> episodes.jsonl / samples.jsonl / summary.json
- ``records``: episode records -> per-frame conversations -> samples (``samples``: schema, validation, JSONL)
- ``decompose``: single-agent episodes -> planner / coder / reviewer / tester samples
- ``pairs``: DPO pairs (delegating resolved vs worse solo); ``mix``: the 60/25/15 SFT mix + datasets.Dataset
- ``cli``: ``cargogym data teacher|decompose|pairs|mix``
"""
