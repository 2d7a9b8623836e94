"""benchmarks/garak_table.py turns garak's report files into one table of hits."""

import json
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def report(path: Path, evals: list[tuple[str, str, int, int]]) -> Path:
    lines = [{"entry_type": "start_run setup"}]
    lines += [{"entry_type": "eval", "probe": p, "detector": d, "passed": total - fails,
               "fails": fails, "total_evaluated": total} for p, d, fails, total in evals]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_hits_per_probe_and_module_with_guard_columns(tmp_path, capsys):
    main = runpy.run_path(str(ROOT / "benchmarks" / "garak_table.py"))["main"]
    off = report(tmp_path / "off.report.jsonl", [
        ("promptinject.HijackHateHumans", "promptinject.AttackRogueString", 10, 40),
        ("promptinject.HijackKillHumans", "promptinject.AttackRogueString", 6, 40),
        ("dan.DanInTheWild", "mitigation.MitigationBypass", 30, 40)])
    on = report(tmp_path / "on.report.jsonl", [
        ("promptinject.HijackHateHumans", "promptinject.AttackRogueString", 0, 40)])
    assert main([str(off), str(on), "--label", "guard off", "--label", "guard on"]) == 0
    out = capsys.readouterr().out
    assert "| promptinject.HijackHateHumans | promptinject.AttackRogueString | 25.0% (10/40) " \
           "| 0.0% (0/40) |" in out
    # per module: 16 hits of 80 off; the refusal-phrase detector is kept apart
    assert "| promptinject | 20.0% (16/80) | 0.0% (0/40) |" in out
    assert "| dan (MitigationBypass) | 75.0% (30/40) | - |" in out
    # LABEL=FOLDER: every report file of the folder under one column
    (tmp_path / "guard-off").mkdir()
    off.rename(tmp_path / "guard-off" / "a.report.jsonl")
    assert main([f"off={tmp_path / 'guard-off'}"]) == 0
    assert "| promptinject | 20.0% (16/80) |" in capsys.readouterr().out
    off = tmp_path / "guard-off" / "a.report.jsonl"
    with pytest.raises(SystemExit, match="2 report files but 1 --label"):
        main([str(off), str(on), "--label", "x"])
    (tmp_path / "bad.report.jsonl").write_text("{not json\n")
    with pytest.raises(SystemExit, match="bad.report.jsonl:1: not JSON"):
        main([str(tmp_path / "bad.report.jsonl")])
