"""A constrained action format for tiny policies: choose one of K candidate patches.

A randomly initialised tiny GPT-OSS cannot write a unified diff, so for the end-to-end learning
run (and the TRL test) the policy's action is ONE token: a letter ``A``, ``B``, … naming one of K
candidate patches for the task — the gold patch and K−1 wrong ones, in a per-task shuffled order.
The letter is mapped onto real env actions: ``apply_patch(candidate)`` then ``submit`` in
``RustRepo-v0``, so the reward is the env's reward from real cargo grading. Wrong candidates:

- ``reverse``: the gold patch reversed (it does not apply to the broken crate: apply_patch fails),
- ``unrelated``: a new, unused source file ``src/candidate_<k>.rs`` (applies; the bug stays).

The prompt is a short Harmony conversation: the task's problem statement, a one-line summary of
each candidate, and the task id as its last words (the tiny model's first layer has a sliding
window of 8 tokens, so that is where it can tell the tasks apart); sampling is restricted to the
K letter tokens. The recorded log-probability is
the full-vocabulary one (what :func:`cargogym.training.grpo.completion_logprobs` computes), so the
GRPO ratio is consistent; with group-centred advantages the restriction's normaliser cancels.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

from cargogym.errors import CargogymError
from cargogym.policies.base import Completion, Sampling

LETTERS = "ABCDEFGH"


class ChoiceError(CargogymError):
    pass


@dataclass
class ChoiceTask:
    """One task with its candidates; ``gold`` is the index of the gold patch in ``candidates``."""

    task: Any                     # cargogym.tasks.record.Task
    candidates: list[str]
    kinds: list[str]
    gold: int

    @property
    def instance_id(self) -> str:
        return self.task.instance_id

    def prompt_messages(self) -> list[dict[str, Any]]:
        statement = (self.task.problem_statement.strip() or f"Fix the crate {self.task.crate}.").splitlines()[0]
        lines = [statement[:200], "", "Candidate patches:"]
        for i, c in enumerate(self.candidates):
            lines.append(f"{LETTERS[i]}) {summarize_patch(c, 72)}")
        # the task id last: a 2-layer model whose first layer sees 8 tokens tells the tasks apart by it
        lines += ["", f"Answer with the letter of the patch that fixes {self.task.instance_id}"]
        return [{"role": "user", "content": "\n".join(lines)}]

    def prompt_ids(self) -> list[int]:
        from cargogym.harmony.render import render_prompt

        return render_prompt(self.prompt_messages(), [])


def reverse_patch(patch: str) -> str:
    """Swap the sides of a unified diff (``+`` ↔ ``-``, ``a/`` ↔ ``b/``)."""
    out = []
    for line in patch.splitlines(keepends=True):
        if line.startswith("--- "):
            out.append("+++ " + line[4:].replace("a/", "b/", 1))
        elif line.startswith("+++ "):
            out.append("--- " + line[4:].replace("b/", "a/", 1))
        elif line.startswith("+"):
            out.append("-" + line[1:])
        elif line.startswith("-"):
            out.append("+" + line[1:])
        else:
            out.append(line)
    # keep the --- line before the +++ line
    fixed, i = [], 0
    while i < len(out):
        if out[i].startswith("+++ ") and i + 1 < len(out) and out[i + 1].startswith("--- "):
            fixed += [out[i + 1], out[i]]
            i += 2
        else:
            fixed.append(out[i])
            i += 1
    return "".join(fixed)


def unrelated_patch(k: int) -> str:
    name = f"src/candidate_{k}.rs"
    body = [f"// candidate {k}: a helper that nothing uses", f"pub fn candidate_{k}() -> u32 {{", f"    {k}", "}"]
    return (f"diff --git a/{name} b/{name}\nnew file mode 100644\n--- /dev/null\n+++ b/{name}\n"
            f"@@ -0,0 +1,{len(body)} @@\n" + "".join(f"+{x}\n" for x in body))


def summarize_patch(patch: str, width: int = 100) -> str:
    files = [l[6:].strip() for l in patch.splitlines() if l.startswith("+++ b/")]
    files = files or [l[6:].strip() for l in patch.splitlines() if l.startswith("--- a/")]
    changed = [l[0] + l[1:].strip() for l in patch.splitlines()
               if l[:1] in "+-" and not l.startswith(("+++", "---")) and l[1:].strip()]
    text = f"{', '.join(files) or '?'}: " + " | ".join(changed[:2])
    return text[:width]


def make_choice_tasks(tasks: Sequence[Any], k: int = 4, seed: int = 0) -> list[ChoiceTask]:
    """K candidates per task (gold + reverse + unrelated ones), shuffled with a per-task seed."""
    if not 2 <= k <= len(LETTERS):
        raise ChoiceError(f"k must be in 2..{len(LETTERS)}, got {k}")
    statements = [t.problem_statement.strip() for t in tasks]
    if len(set(statements)) != len(statements):
        raise ChoiceError("choice tasks need distinct problem statements (the policy tells tasks apart by them)")
    out = []
    for t in tasks:
        cands = [(t.patch, "gold"), (reverse_patch(t.patch), "reverse")]
        cands += [(unrelated_patch(j), "unrelated") for j in range(k - 2)]
        rng = random.Random(f"{seed}:{t.instance_id}")
        rng.shuffle(cands)
        out.append(ChoiceTask(t, [c for c, _ in cands], [x for _, x in cands],
                              [x for _, x in cands].index("gold")))
    return out


def letter_ids(k: int) -> list[int]:
    """Token ids of the letters A.. (each a single o200k token)."""
    from cargogym.harmony.render import encode

    ids = []
    for ch in LETTERS[:k]:
        toks = encode(ch)
        if len(toks) != 1:
            raise ChoiceError(f"letter {ch!r} is not a single token: {toks}")
        ids.append(toks[0])
    return ids


def choose(model, prompts: list[list[int]], choice_ids: list[int], temperature: float = 1.0,
           generator=None, pad_id: int = 199999) -> tuple[list[int], list[float]]:
    """Sample one letter per prompt from the model restricted to ``choice_ids``.

    Returns the chosen indices and the full-vocabulary log-probs of the chosen tokens."""
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attn = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p)
        attn[i, width - len(p):] = 1
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    device = next(model.parameters()).device
    with torch.no_grad():
        out = model(input_ids=ids.to(device), attention_mask=attn.to(device), position_ids=pos.to(device),
                    logits_to_keep=1, use_cache=False)
        logits = out.logits[:, -1, :].float().cpu()
    full = torch.log_softmax(logits, dim=-1)
    sub = logits[:, choice_ids]
    if temperature <= 0:
        picks = sub.argmax(-1)
    else:
        probs = torch.softmax(sub / temperature, dim=-1)
        picks = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    chosen = [int(i) for i in picks.tolist()]
    lps = [float(full[r, choice_ids[c]]) for r, c in enumerate(chosen)]
    return chosen, lps


class ChoicePolicy:
    """The policy protocol over choice tasks: a batched ``generate`` that answers each conversation
    either with a letter (mapped to ``apply_patch`` of that candidate) or, once the patch was
    tried, with ``submit``. Conversations are matched to tasks by their problem statement."""

    name = "choice"

    def __init__(self, model, choice_tasks: Sequence[ChoiceTask], seed: int = 0):
        import torch

        self.model = model
        self.tasks = list(choice_tasks)
        k = {len(c.candidates) for c in self.tasks}
        if len(k) != 1:
            raise ChoiceError("all choice tasks need the same number of candidates")
        self.k = k.pop()
        self.choice_ids = letter_ids(self.k)
        self.generator = torch.Generator().manual_seed(seed)
        self.picks: list[tuple[str, int]] = []   # (instance_id, choice) of every letter drawn

    def task_for(self, messages: list[dict[str, Any]]) -> ChoiceTask:
        user = "\n".join(m.get("content") or "" for m in messages if m.get("role") == "user")
        hits = [c for c in self.tasks if c.task.problem_statement.strip() and c.task.problem_statement.strip() in user]
        if len(hits) != 1:
            raise ChoiceError(f"cannot tell which choice task this conversation is ({len(hits)} matches)")
        return hits[0]

    def generate(self, conversations, sampling: Sampling, tools=None) -> list[Completion]:
        out: list[Completion | None] = [None] * len(conversations)
        pending: list[tuple[int, ChoiceTask]] = []
        for i, conv in enumerate(conversations):
            if any(m.get("role") == "tool" for m in conv):
                out[i] = Completion(text="", action={"tool": "submit", "arguments": {"summary": "chosen patch"}})
            else:
                pending.append((i, self.task_for(conv)))
        if pending:
            prompts = [c.prompt_ids() for _, c in pending]
            chosen, lps = choose(self.model, prompts, self.choice_ids, sampling.temperature, self.generator)
            for (i, c), k, lp, p in zip(pending, chosen, lps, prompts):
                self.picks.append((c.instance_id, k))
                out[i] = Completion(text=LETTERS[k], token_ids=[self.choice_ids[k]], logprobs=[lp], prompt_ids=p,
                                    action={"tool": "apply_patch", "arguments": {"diff": c.candidates[k]}})
        return out  # type: ignore[return-value]
