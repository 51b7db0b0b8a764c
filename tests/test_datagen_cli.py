"""``cargogym data`` from the command line: override flags, the mix's dataset for seed-dialect
samples, and the README's teacher → mix sequence on real cargo."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cargogym.cli import app
from cargogym.datagen.mix import MixConfig, build_mix, dataset_is_tokenized, to_dataset
from cargogym.datagen.samples import SampleError, make_sample, read_jsonl, write_jsonl


def _pool(formatter: str, n: int = 5) -> list[dict]:
    out = []
    for i, kind in enumerate((["single_agent"] * 3 + ["multi_role", "delegation"]) * (n // 5)):
        msgs = [{"role": "user", "content": f"Fix bug {i}."},
                {"role": "assistant", "channel": "analysis", "content": "Run the tests."},
                {"role": "assistant", "channel": "final", "content": f"Fixed {i}."}]
        out.append(make_sample(id=f"{formatter}-{i:02d}", messages=msgs, tools=[], source="teacher", kind=kind,
                               resolved=True, formatter=formatter))
    return out


def test_dataset_of_seed_samples_falls_back_to_text():
    rows, _ = build_mix(_pool("seed"), MixConfig(ratios={"single_agent": 0.6, "multi_role": 0.2, "delegation": 0.2}))
    assert not dataset_is_tokenized(rows)
    ds = to_dataset(rows)
    assert ds.column_names == ["text", "id", "kind"] and ds[0]["text"] == rows[0]["text"]
    with pytest.raises(SampleError, match="only defined for Harmony samples.*--text"):
        to_dataset(rows, tokenized=True)
    harmony, _ = build_mix(_pool("harmony"), MixConfig(ratios={"single_agent": 0.6, "multi_role": 0.2, "delegation": 0.2}))
    assert dataset_is_tokenized(harmony) and "input_ids" in to_dataset(harmony).column_names
    assert not dataset_is_tokenized(harmony + rows)


def test_mix_command_saves_seed_dataset_as_text_and_honours_set(tmp_path):
    from datasets import load_from_disk

    src = tmp_path / "seed.jsonl"
    write_jsonl(src, _pool("seed", 10))
    runner = CliRunner()
    r = runner.invoke(app, ["data", "mix", str(src), "--out", str(tmp_path / "mix.jsonl"), "--dataset",
                            str(tmp_path / "ds"), "--set", "seed=5", "--set", "ratios={single_agent: 1}"])
    assert r.exit_code == 0, r.output
    assert "seed 5" in r.output and "text" in r.output
    ds = load_from_disk(str(tmp_path / "ds"))
    assert ds.column_names == ["text", "id", "kind"] and len(ds) == 6     # the 6 single_agent samples
    # -o is the same flag as --set; the same seed gives the same mix
    r2 = runner.invoke(app, ["data", "mix", str(src), "--out", str(tmp_path / "mix2.jsonl"), "-o", "seed=5",
                             "-o", "ratios={single_agent: 1}"])
    assert r2.exit_code == 0, r2.output
    assert read_jsonl(tmp_path / "mix.jsonl") == read_jsonl(tmp_path / "mix2.jsonl")
    # Harmony samples are tokenized unless --text
    hsrc = tmp_path / "harmony.jsonl"
    write_jsonl(hsrc, _pool("harmony", 10))
    r3 = runner.invoke(app, ["data", "mix", str(hsrc), "--out", str(tmp_path / "hmix.jsonl"), "--dataset",
                             str(tmp_path / "hds"), "--text"])
    assert r3.exit_code == 0, r3.output
    assert load_from_disk(str(tmp_path / "hds")).column_names == ["text", "id", "kind"]


@pytest.mark.slow
def test_readme_teacher_then_mix_sequence(tmp_path):
    """The README's sequence, on one multi_bug task: teacher → samples.jsonl → validated mix + dataset."""
    out = tmp_path / "data"
    cmd = [sys.executable, "-m", "cargogym.cli", "data"]
    res = subprocess.run(cmd + ["teacher", "--set", "families=[multi_bug]", "--limit", "1", "--workers", "1",
                                "--out", str(out)], capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 4 and summary["multi_role_trajectories"] == 1 and summary["validated"]
    assert set(summary["samples_by_kind"]) == {"single_agent", "multi_role", "delegation"}
    res = subprocess.run(cmd + ["mix", str(out / "samples.jsonl"), "--out", str(out / "mix.jsonl"), "--validate",
                                "--dataset", str(out / "sft")], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    mix = read_jsonl(out / "mix.jsonl")
    assert mix and {s["kind"] for s in mix} <= {"single_agent", "multi_role", "delegation"}
    assert (out / "sft" / "dataset_info.json").exists()
