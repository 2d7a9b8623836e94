"""Data-parallel training under torchrun, gradient accumulation, mixed precision, fine-tuning."""

import json
import os
import subprocess
import sys

import pytest
import torch
import yaml
from test_pipeline import _config, corpus, tiny_dir  # noqa: F401 (fixtures)

from liquidcare.surgery import LiquidConfigError, load_model
from liquidcare.train.pipeline import run
from liquidcare.train.precision import resolve_precision


def _close(a: list[float], b: list[float], rel: float = 1e-4) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= rel * max(abs(x), abs(y), 1e-8)
                                    for x, y in zip(a, b, strict=True))


def test_two_processes_under_torchrun_follow_the_single_process_run(tiny_dir, corpus,  # noqa: F811
                                                                     tmp_path):
    changes = dict(stage1={"steps": 4, "batch_size": 4}, stage2={"steps": 4, "batch_size": 4})
    single = run(_config(tiny_dir, corpus, tmp_path / "one", **changes), progress=False)

    config = _config(tiny_dir, corpus, tmp_path / "two", **changes).to_dict()
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "liquidcare.train", "--config", str(path)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "two" / "t" / "metrics.json").read_text())
    assert metrics["processes"] == 2
    for stage, losses in single["losses"].items():
        assert _close(metrics["losses"][stage], losses), (stage, metrics["losses"][stage], losses)
    assert _close([r["ppl"] for r in metrics["evaluations"]],
                  [r["ppl"] for r in single["evaluations"]])
    # the adapter the main process saved is the single-process one
    two, _ = load_model(str(tmp_path / "two" / "t"), device="cpu")
    one, _ = load_model(str(tmp_path / "one" / "t"), device="cpu")
    for (name, a), (_, b) in zip(two.named_parameters(), one.named_parameters(), strict=True):
        if a.requires_grad:
            assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), name


def test_gradient_accumulation_equals_the_large_batch(tiny_dir, corpus, tmp_path):  # noqa: F811
    big = run(_config(tiny_dir, corpus, tmp_path / "big", stage1={"steps": 3, "batch_size": 4},
                      stage2={"steps": 3, "batch_size": 4}), progress=False)
    acc = run(_config(tiny_dir, corpus, tmp_path / "acc",
                      stage1={"steps": 3, "batch_size": 2, "accumulate": 2},
                      stage2={"steps": 3, "batch_size": 1, "accumulate": 4}), progress=False)
    for stage, losses in big["losses"].items():
        assert _close(acc["losses"][stage], losses), stage


def test_bf16_autocast_trains_close_to_fp32(tiny_dir, corpus, tmp_path):  # noqa: F811
    fp32 = run(_config(tiny_dir, corpus, tmp_path / "a", precision="fp32"), progress=False)
    bf16 = run(_config(tiny_dir, corpus, tmp_path / "b", precision="bf16"), progress=False)
    assert bf16["precision"] == "bf16"
    a, b = fp32["evaluations"][-1]["ppl"], bf16["evaluations"][-1]["ppl"]
    assert abs(a - b) / a < 0.05
    assert bf16["losses"]["stage 2: end to end"] != fp32["losses"]["stage 2: end to end"]


def test_precision_is_checked_against_the_device():
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(LiquidConfigError, match="fp16 needs a CUDA device"):
        resolve_precision("fp16", cpu)
    with pytest.raises(LiquidConfigError, match="precision 'fp8'"):
        resolve_precision("fp8", cpu)


@pytest.fixture(scope="module")
def counting(tmp_path_factory):
    """Documents that count through 12 words: easy to learn, unlike random words."""
    docs = [" ".join(f"w{(start + i) % 12}" for i in range(40)) for start in range(60)]
    path = tmp_path_factory.mktemp("counting") / "docs.txt"
    path.write_text("\n\n".join(docs))
    return path


def test_fine_tuning_a_parallel_adapter_starts_at_the_base_and_lowers_perplexity(
        tiny_dir, counting, tmp_path):  # noqa: F811
    cfg = _config(tiny_dir, counting, tmp_path, mode="finetune", preset="cfc-fc",
                  liquid={"placement": "parallel", "units": 16},
                  finetune={"steps": 30, "lr": 3e-3})
    summary = run(cfg, progress=False)
    ppl = {r["label"]: r["ppl"] for r in summary["evaluations"]}
    # a parallel block starts with a zero output: the model is still exactly the base model
    assert ppl["after surgery"] == pytest.approx(ppl["base model"], rel=1e-6)
    assert ppl["after fine-tuning"] < 0.7 * ppl["base model"]
    assert (tmp_path / "t" / "adapter" / "liquid_config.json").is_file()
    assert "fine-tune" in (tmp_path / "t" / "report.md").read_text()

    # and a later run goes on from that adapter
    more = run(_config(tiny_dir, counting, tmp_path / "more", mode="finetune",
                       adapter=str(tmp_path / "t"), finetune={"steps": 10, "lr": 3e-3}),
               progress=False)
    start = more["evaluations"][0]["ppl"]
    assert start == pytest.approx(ppl["after fine-tuning"], rel=1e-5)
    assert more["evaluations"][-1]["ppl"] < start


def test_unknown_mode_and_stage_keys_are_named(tiny_dir, corpus, tmp_path):  # noqa: F811
    with pytest.raises(LiquidConfigError, match="mode 'distil'"):
        _config(tiny_dir, corpus, tmp_path, mode="distil")
    with pytest.raises(LiquidConfigError, match="unknown finetune key"):
        _config(tiny_dir, corpus, tmp_path, finetune={"step": 3})
    with pytest.raises(LiquidConfigError, match="accumulate must be"):
        _config(tiny_dir, corpus, tmp_path, stage2={"accumulate": 0}).distill_config()


def test_a_time_budget_stops_the_stage_and_drives_the_schedule(tiny_dir, corpus,  # noqa: F811
                                                               tmp_path):
    cfg = _config(tiny_dir, corpus, tmp_path, stage1={"steps": 0},
                  stage2={"steps": 100_000, "budget_s": 1.0, "clock": "wall", "warmup": 1})
    summary = run(cfg, progress=False)
    steps = len(summary["losses"]["stage 2: end to end"])
    assert 1 <= steps < 100_000
    with pytest.raises(LiquidConfigError, match="clock 'gpu'"):
        _config(tiny_dir, corpus, tmp_path, stage2={"clock": "gpu"}).distill_config()
