import json

import pytest
import torch
from tiny_models import padded_prompts, tiny_model

from liquidcare.surgery import (
    AdapterError,
    LiquidConfig,
    liquify,
    load_liquid,
    read_adapter_config,
    save_liquid,
)
from liquidcare.surgery import adapter as adapter_module


def _trained(cfg: LiquidConfig | None = None):
    model = liquify(tiny_model("llama"), cfg or LiquidConfig(cell="cfc", wiring="ncp", units=16))
    with torch.no_grad():  # stand-in for training: move every liquid weight off its init
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    return model


def _logits(model):
    ids, mask = padded_prompts()
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits


@pytest.mark.parametrize("placement", ["replace", "parallel"])
def test_save_then_load_rebuilds_the_same_model(tmp_path, placement):
    cfg = LiquidConfig(cell="cfc", wiring="ncp", units=16, placement=placement, train_norms=True)
    model = _trained(cfg)
    out = save_liquid(model, tmp_path / "adapter")
    assert sorted(p.name for p in out.iterdir()) == [
        "liquid_config.json",
        "liquid_model.safetensors",
    ]
    meta = json.loads((out / "liquid_config.json").read_text())
    assert meta["base_model"] == "tiny-llama" and meta["liquid_config"]["placement"] == placement
    from safetensors.torch import load_file

    saved = load_file(str(out / "liquid_model.safetensors"))
    assert all(".liquid." in k or "layernorm" in k for k in saved)  # no frozen base weights
    loaded = load_liquid(tiny_model("llama"), out)
    assert torch.equal(_logits(loaded), _logits(model))
    assert read_adapter_config(out)["liquid_config"] == cfg


def test_a_different_base_is_refused(tmp_path):
    save_liquid(_trained(), tmp_path / "a")
    with pytest.raises(AdapterError, match="trained on base model 'tiny-llama'"):
        load_liquid(tiny_model("llama", seed=1), tmp_path / "a")


def test_the_same_base_in_bfloat16_is_accepted(tmp_path):
    save_liquid(_trained(), tmp_path / "a")
    model = load_liquid(tiny_model("llama").to(torch.bfloat16), tmp_path / "a")
    assert next(model.parameters()).dtype == torch.bfloat16


def test_a_truncated_weights_file_is_refused(tmp_path):
    out = save_liquid(_trained(), tmp_path / "a")
    weights = out / "liquid_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(AdapterError, match="truncated"):
        load_liquid(tiny_model("llama"), out)


def test_a_corrupt_weights_file_is_refused(tmp_path):
    out = save_liquid(_trained(), tmp_path / "a")
    weights = out / "liquid_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(AdapterError, match="corrupt"):
        load_liquid(tiny_model("llama"), out)


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda m: m.update(colour="blue"), r"unknown config key\(s\) \['colour'\]"),
        (lambda m: m["liquid_config"].update(unit=3), r"unknown LiquidConfig key\(s\) \['unit'\]"),
        (lambda m: m.pop("base_fingerprint"), "missing config key"),
        (lambda m: m.update(format_version=99), "newer"),
    ],
)
def test_bad_configs_are_refused_by_name(tmp_path, edit, message):
    out = save_liquid(_trained(), tmp_path / "a")
    meta = json.loads((out / "liquid_config.json").read_text())
    edit(meta)
    (out / "liquid_config.json").write_text(json.dumps(meta))
    base = tiny_model("llama")
    with pytest.raises(AdapterError, match=message):
        load_liquid(base, out)
    assert not hasattr(base, "liquid_info")  # refused before the base was touched


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(AdapterError, match="no such adapter directory"):
        load_liquid(tiny_model("llama"), tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AdapterError, match="liquid_config.json is missing"):
        load_liquid(tiny_model("llama"), tmp_path / "empty")
    (tmp_path / "empty" / "liquid_config.json").write_text("{not json")
    with pytest.raises(AdapterError, match="not valid JSON"):
        load_liquid(tiny_model("llama"), tmp_path / "empty")


def test_a_failed_save_keeps_the_previous_adapter(tmp_path, monkeypatch):
    first = _trained()
    out = save_liquid(first, tmp_path / "a")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(adapter_module, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        save_liquid(_trained(), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]  # no temp folders left


def test_overwriting_an_adapter_replaces_it(tmp_path):
    out = save_liquid(_trained(), tmp_path / "a")
    second = _trained(LiquidConfig(cell="scan", units=16))
    save_liquid(second, out)
    assert read_adapter_config(out)["liquid_config"].cell == "scan"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_model_version_names_the_run_and_changes_with_the_weights(tmp_path):
    from liquidcare.surgery import model_version

    assert model_version("smollm2") == "smollm2"
    model = _trained()
    save_liquid(model, tmp_path / "care" / "adapter")
    first = model_version(tmp_path / "care")
    assert first == model_version(tmp_path / "care" / "adapter")
    assert first.startswith("care@") and len(first) == len("care@") + 12
    with torch.no_grad():
        next(p for p in model.parameters() if p.requires_grad).add_(1.0)
    save_liquid(model, tmp_path / "care" / "adapter")
    assert model_version(tmp_path / "care") != first
