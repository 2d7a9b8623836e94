"""The one atomic writer: complete files or the old file, never half of one."""

import json
import os
import stat

import pytest

from liquidcare import atomic


def test_writes_text_json_and_bytes_and_leaves_no_temp(tmp_path):
    atomic.write_text(tmp_path / "a.txt", "héllo")
    atomic.write_json(tmp_path / "b.json", {"x": [1, 2]})
    atomic.write_bytes(tmp_path / "c.bin", b"\x00\x01")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo"
    assert json.loads((tmp_path / "b.json").read_text()) == {"x": [1, 2]}
    assert (tmp_path / "c.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.json", "c.bin"]


def test_a_failing_writer_keeps_the_old_file_and_removes_the_temp(tmp_path):
    target = tmp_path / "state.json"
    atomic.write_json(target, {"round": 1})

    def broken(path):
        path.write_text('{"round": 2, "trunc')
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, broken)
    assert json.loads(target.read_text()) == {"round": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_mode_is_applied_before_the_file_appears(tmp_path):
    path = atomic.write_text(tmp_path / "secret.txt", "x", mode=0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic.write_text(tmp_path / "nope" / "a.txt", "x")


def test_safetensors_round_trip(tmp_path):
    import torch
    from safetensors.torch import load_file

    atomic.save_safetensors(tmp_path / "w.safetensors", {"w": torch.ones(2, 3)}, {"k": "v"})
    assert torch.equal(load_file(str(tmp_path / "w.safetensors"))["w"], torch.ones(2, 3))
