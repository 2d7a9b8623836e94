"""Resuming a training run: a changed config, a missing or damaged checkpoint are refused at once
in one line, before the teacher pass; the progress bar starts at the step reached."""

from __future__ import annotations

import pytest
import yaml
from test_pipeline import _config, corpus, tiny_dir  # noqa: F401 (fixtures)

from liquidcare import cli
from liquidcare.train import distill
from liquidcare.train.checkpoint import CheckpointError
from liquidcare.train.pipeline import run


def _killed_run(tiny_dir, corpus, tmp_path, monkeypatch, at: int = 6, **changes):  # noqa: F811
    """A run killed in stage 2 right after the checkpoint of step ``at``."""
    cfg = _config(tiny_dir, corpus, tmp_path, stage1={"steps": 2}, stage2={"steps": 10},
                  checkpoint_every=3, **changes)
    original = distill.Checkpointer.save

    def save_then_die(self, name, step, *args):
        original(self, name, step, *args)
        if name == "stage 2" and step == at:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(distill.Checkpointer, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run(cfg, progress=False)
    monkeypatch.setattr(distill.Checkpointer, "save", original)
    return cfg


def _no_teacher_pass(monkeypatch):
    """Any model load or teacher pass from here on fails the test."""
    import liquidcare.models
    from liquidcare.train import pipeline

    def forbidden(*args, **kwargs):
        raise AssertionError("the run got past the checkpoint check")

    monkeypatch.setattr(liquidcare.models, "load_base", forbidden)
    monkeypatch.setattr(pipeline, "capture", forbidden)


def _yaml(cfg, path):
    path.write_text(yaml.safe_dump(cfg.to_dict()))
    return str(path)


def test_a_changed_config_is_refused_at_once_naming_what_changed(tiny_dir, corpus, tmp_path,  # noqa: F811
                                                                  monkeypatch, capsys):
    cfg = _killed_run(tiny_dir, corpus, tmp_path, monkeypatch)
    changed = _config(tiny_dir, corpus, tmp_path, stage1={"steps": 2},
                      stage2={"steps": 10, "lr": 0.5}, checkpoint_every=3, layers="last:2")
    _no_teacher_pass(monkeypatch)
    with pytest.raises(CheckpointError, match=r"stage2\.lr 0\.002 -> 0\.5") as err:
        run(changed, progress=False, resume=True)
    assert "layers 'last:1' -> 'last:2'" in str(err.value)
    assert "checkpoint_every" not in str(err.value)
    # through the command: one line, exit 1
    capsys.readouterr()
    assert cli.main(["train", "--config", _yaml(changed, tmp_path / "c.yaml"), "--resume"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("liquidcare: error: cannot resume")
    assert "stage2.lr" in lines[0]
    # what may change (where it runs and how it is watched) still resumes the same checkpoint
    from liquidcare.train.checkpoint import Checkpointer

    moved = {**cfg.resolved(), "device": "cuda", "checkpoint_every": 5, "samples": 0}
    state = Checkpointer(tmp_path / "t" / "checkpoint.pt", resume=True, config=moved).state
    assert state["stages"]["stage 2"]["step"] == 6


def test_resume_without_a_checkpoint_says_so(tiny_dir, corpus, tmp_path, monkeypatch,  # noqa: F811
                                             capsys):
    cfg = _config(tiny_dir, corpus, tmp_path, name="never-ran")
    _no_teacher_pass(monkeypatch)
    with pytest.raises(CheckpointError, match="no checkpoint at .*never-ran/checkpoint.pt"):
        run(cfg, progress=False, resume=True)
    assert not (tmp_path / "never-ran").exists()  # nothing started, nothing written
    assert cli.main(["train", "--config", _yaml(cfg, tmp_path / "c.yaml"), "--resume"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nothing to resume" in err and "without --resume" in err


@pytest.mark.parametrize("damage", ["truncated", "garbage", "foreign"])
def test_a_damaged_checkpoint_gives_one_line(tiny_dir, corpus, tmp_path, monkeypatch, capsys,  # noqa: F811
                                             damage):
    import torch

    cfg = _killed_run(tiny_dir, corpus, tmp_path, monkeypatch)
    path = tmp_path / "t" / "checkpoint.pt"
    if damage == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00not a checkpoint\xff" * 50)
    else:
        torch.save({"weights": torch.zeros(3)}, path)
    _no_teacher_pass(monkeypatch)
    capsys.readouterr()
    assert cli.main(["train", "--config", _yaml(cfg, tmp_path / "c.yaml"), "--resume"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("liquidcare: error: cannot resume")
    assert str(path) in lines[0] and "Traceback" not in captured.err
    expected = "not a liquidcare training checkpoint" if damage == "foreign" else "damaged"
    assert expected in lines[0]


def test_the_progress_bar_starts_at_the_resumed_step(tiny_dir, corpus, tmp_path,  # noqa: F811
                                                     monkeypatch):
    cfg = _killed_run(tiny_dir, corpus, tmp_path, monkeypatch)
    bars = []

    class Bar:
        """Records what a tqdm bar would show."""

        def __init__(self, *args, total=None, initial=0, desc=None, **kwargs):
            self.desc, self.total, self.shown = desc, total, [initial]
            bars.append(self)

        def update(self, n=1):
            self.shown.append(self.shown[-1] + n)

        def set_postfix(self, **kwargs):
            pass

        def close(self):
            pass

    monkeypatch.setattr(distill, "tqdm", Bar)
    resumed = run(cfg, progress=False, resume=True)
    stage2 = next(b for b in bars if b.desc == "stage 2")
    assert stage2.total == 10 and stage2.shown == [6, 7, 8, 9, 10]
    stage1 = next(b for b in bars if b.desc == "stage 1")
    assert stage1.shown == [2]  # finished before the kill: nothing left to run
    assert len(resumed["losses"]["stage 2: end to end"]) == 10


def test_a_setting_added_later_at_its_default_is_no_change():
    from liquidcare.train.checkpoint import config_changes

    saved = {"seed": 0, "stage2": {"lr": 0.03}}  # written before stage2.lora_lr existed
    defaults = {"seed": 0, "stage2": {"lr": 0.03, "lora_lr": 1e-3}}
    assert config_changes(saved, {"seed": 0, "stage2": {"lr": 0.03, "lora_lr": 1e-3}},
                          defaults) == []
    moved = config_changes(saved, {"seed": 0, "stage2": {"lr": 0.03, "lora_lr": 5e-3}}, defaults)
    assert moved == ["stage2.lora_lr '<unset>' -> 0.005"]
    # without the defaults any new key is a change, as before
    assert config_changes(saved, {"seed": 0, "stage2": {"lr": 0.03, "lora_lr": 1e-3}}) != []
    # a setting the run changed is still refused, whatever the defaults
    assert config_changes(saved, {"seed": 1, "stage2": {"lr": 0.03}}, defaults) == ["seed 0 -> 1"]
