"""The rollout progress bar: done/total counts resumed episodes, ETA from this call's rate."""

from __future__ import annotations

import io
import re

from rich.console import Console

from cargogym.rollouts.progress import format_eta, progress_fields, rollout_progress
from cargogym.rollouts.runner import RolloutResult


def _result(**kw):
    return RolloutResult(out_dir="unused", **kw)


def test_fields_after_resume_reach_the_total():
    # 10 episodes in all, 4 stored by an earlier run, 6 to run now
    r = _result(skipped=4)
    assert progress_fields(r, 6) == {"completed": 4, "total": 10, "reward": 0.0, "resolved": 0.0, "eps": 0.0,
                                     "eta": "-:--:--"}
    r = _result(skipped=4, written=2, rewards=[1.0, 0.0], resolved=[True, False], wall_time=4.0)
    f = progress_fields(r, 6)
    assert (f["completed"], f["total"], f["reward"], f["resolved"], f["eps"]) == (6, 10, 0.5, 0.5, 0.5)
    assert f["eta"] == "0:00:08"  # 4 left at 0.5 episodes/s
    r = _result(skipped=4, written=5, failed=1, rewards=[1.0] * 5, resolved=[True] * 5, wall_time=12.0)
    f = progress_fields(r, 6)
    assert f["completed"] == f["total"] == 10 and f["eta"] == "0:00:00"  # failures settle episodes too


def test_format_eta():
    assert format_eta(None) == "-:--:--" and format_eta(0) == "0:00:00"
    assert format_eta(3725.4) == "1:02:05" and format_eta(-3) == "0:00:00"


def test_rendered_bar_shows_every_field():
    console = Console(record=True, width=200, file=io.StringIO(), force_terminal=False)
    with rollout_progress(10, "oracle × 5 tasks", console=console) as on_episode:
        on_episode(None, _result(skipped=4), 6)
        on_episode({"episode_key": "t#0"}, _result(skipped=4, written=3, rewards=[1.0, 1.0, 0.25],
                                                   resolved=[True, True, False], wall_time=6.0), 6)
    text = console.export_text()
    line = [ln for ln in text.splitlines() if "oracle × 5 tasks" in ln][-1]
    assert re.search(r"\b7/10\b", line), line
    assert "reward 0.750" in line and "resolved 67%" in line and "0.50 ep/s" in line
    assert "ETA 0:00:06" in line, line  # 3 left at 0.5 episodes/s
