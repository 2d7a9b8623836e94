import copy
import json

import pytest
import torch
from tiny_models import save_tiny

from liquidcare import cli
from liquidcare.surgery import LiquidConfig, liquify, load_model, preset


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("tiny-llama"))


def test_liquify_writes_an_adapter_and_prints_the_summary(tiny_dir, tmp_path, capsys):
    out = tmp_path / "runs" / "care"
    rc = cli.main(["liquify", "--base", str(tiny_dir), "--preset", "cfc-ncp", "--units", "16",
                   "--layers", "last:1", "--out", str(out), "--device", "cpu"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "trainable params" in printed and "model.layers.1.mlp" in printed
    meta = json.loads((out / "liquid_config.json").read_text())
    assert meta["base_model"] == str(tiny_dir.resolve())
    assert meta["liquid_config"]["layers"] == "last:1"
    assert meta["liquid_config"]["units"] == 16 and meta["liquid_config"]["wiring"] == "ncp"
    model, _ = load_model(str(out), device="cpu")
    assert model.liquid_info.targets == ["model.layers.1.mlp"]


def test_liquify_refuses_to_overwrite_without_force(tiny_dir, tmp_path, capsys):
    out = tmp_path / "a"
    args = ["liquify", "--base", str(tiny_dir), "--units", "16", "--out", str(out)]
    assert cli.main(args) == 0
    before = (out / "liquid_model.safetensors").read_bytes()
    assert cli.main(args + ["--cell", "scan"]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert (out / "liquid_model.safetensors").read_bytes() == before
    assert cli.main(args + ["--cell", "scan", "--force"]) == 0


def test_liquify_reads_a_yaml_config_and_names_bad_keys(tiny_dir, tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("cell: ltc\nunits: 12\nlayers: [0]\nplacement: parallel\n")
    out = tmp_path / "ltc"
    assert cli.main(["liquify", "--base", str(tiny_dir), "--config", str(good),
                     "--out", str(out)]) == 0
    cfg = json.loads((out / "liquid_config.json").read_text())["liquid_config"]
    assert (cfg["cell"], cfg["units"], cfg["layers"], cfg["placement"]) == (
        "ltc", 12, [0], "parallel")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cell: ltc\nneurons: 12\n")
    assert cli.main(["liquify", "--base", str(tiny_dir), "--config", str(bad),
                     "--out", str(tmp_path / "x")]) == 1
    assert "unknown LiquidConfig key(s) ['neurons']" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_generate_streams_from_an_adapter(tiny_dir, tmp_path, capsys):
    out = tmp_path / "a"
    assert cli.main(["liquify", "--base", str(tiny_dir), "--units", "16", "--out", str(out)]) == 0
    capsys.readouterr()
    assert cli.main(["generate", "--model", str(out), "w1 w2 w3", "--max-new-tokens", "5",
                     "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert len(text.split()) >= 1 and all(w.startswith("w") or w in "<>" for w in text.split())


def test_generate_reports_a_broken_adapter_in_one_line(tiny_dir, tmp_path, capsys):
    out = tmp_path / "a"
    assert cli.main(["liquify", "--base", str(tiny_dir), "--units", "16", "--out", str(out)]) == 0
    weights = out / "liquid_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:50])
    capsys.readouterr()
    assert cli.main(["generate", "--model", str(out), "w1"]) == 1
    err = capsys.readouterr().err
    assert "liquidcare: error:" in err and "truncated" in err and "Traceback" not in err


# --- the embedded SmolLM2 (slow) ---------------------------------------------------------------
@pytest.mark.slow
def test_smollm2_parallel_liquify_keeps_the_base_logits(embedded_smollm2):
    base, tokenizer = embedded_smollm2
    model = liquify(copy.deepcopy(base), preset("cfc-ncp", placement="parallel"))
    enc = tokenizer(["A carer asks about hydration.", "Hi"], return_tensors="pt", padding=True)
    with torch.no_grad():
        assert torch.equal(model(**enc).logits, base(**enc).logits)


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["cfc", "ltc", "scan"])
def test_smollm2_liquified_cached_generate_equals_recompute(embedded_smollm2, cell):
    base, tokenizer = embedded_smollm2
    model = liquify(copy.deepcopy(base), LiquidConfig(cell=cell, wiring="ncp", units=32,
                                                      layers="last:2"))
    enc = tokenizer(["How do I help my mother drink more water?", "Hello"],
                    return_tensors="pt", padding=True)
    outs = [
        model.generate(**enc, max_new_tokens=8, min_new_tokens=8, do_sample=False,
                       use_cache=use_cache, pad_token_id=tokenizer.pad_token_id)
        for use_cache in (True, False)
    ]
    assert torch.equal(outs[0], outs[1])
