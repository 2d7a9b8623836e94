import json
import random

import pytest
from tiny_models import VOCAB, save_tiny

from liquidcare import cli
from liquidcare.surgery import LiquidConfigError, load_model
from liquidcare.train.pipeline import RunConfig, run


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Documents of tiny-vocabulary words, separated by blank lines."""
    rng = random.Random(0)
    docs = [" ".join(f"w{rng.randrange(VOCAB - 3)}" for _ in range(rng.randrange(20, 60)))
            for _ in range(80)]
    path = tmp_path_factory.mktemp("corpus") / "docs.txt"
    path.write_text("\n\n".join(docs))
    return path


def _config(tiny_dir, corpus, tmp_path, **changes) -> RunConfig:
    base = dict(
        name="t", base=str(tiny_dir), corpus=str(corpus), layers="last:1",
        liquid={"linear_skip": True, "units": 16}, block_size=16, max_train_tokens=640,
        max_val_tokens=160, stage1={"steps": 5}, stage2={"steps": 5}, kl_positions=16,
        samples=1, sample_tokens=4, output_dir=str(tmp_path), device="cpu", ood_corpus=None,
    )
    return RunConfig.from_dict({**base, **changes})


def test_the_pipeline_writes_adapter_report_plot_and_logs(tiny_dir, corpus, tmp_path):
    summary = run(_config(tiny_dir, corpus, tmp_path), progress=False)
    run_dir = tmp_path / "t"
    labels = [row["label"] for row in summary["evaluations"]]
    assert labels == ["base model", "after surgery", "after least-squares init",
                      "after stage 1", "after stage 2"]
    assert summary["evaluations"][0]["kl"] == 0.0
    report = (run_dir / "report.md").read_text()
    assert "| base model |" in report and "| after stage 2 |" in report
    assert (run_dir / "loss.png").stat().st_size > 1000
    assert list((run_dir / "tb").iterdir())  # TensorBoard event file
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["losses"]["stage 2: end to end"]) == 5
    model, _ = load_model(str(run_dir), device="cpu")  # a run dir loads like an adapter
    assert model.liquid_info.targets == ["model.layers.1.mlp"]


def test_held_out_sets_are_scored_for_base_and_student_in_the_same_run(tiny_dir, corpus,
                                                                      tmp_path, capsys):
    from liquidcare.train.heldout import OOD_LABEL
    from liquidcare.train.report import perplexity_table

    summary = run(_config(tiny_dir, corpus, tmp_path, test_split="validation",
                          ood_corpus=str(corpus), max_test_tokens=160, stage1={"steps": 0},
                          eval_every=2), progress=False)
    # the validation curve: a row every 2 of the 5 steps, before the final one
    assert [r["label"] for r in summary["evaluations"][-3:]] == [
        "stage 2, step 2", "stage 2, step 4", "after stage 2"]
    held = summary["held_out"]
    assert [row["label"] for row in held] == ["base model", "liquid (1 MLPs)"]
    test_label = f"{corpus} validation"
    assert set(held[0]["ppl"]) == {test_label, OOD_LABEL}
    # the same blocks scored from the cache as the validation rows were: the base model's test
    # figure is its validation figure (same split here), the student's is its final one
    assert held[0]["ppl"][test_label] == pytest.approx(summary["evaluations"][0]["ppl"])
    assert held[1]["ppl"][test_label] == pytest.approx(summary["evaluations"][-1]["ppl"])
    assert held[1]["ppl"][test_label] != held[0]["ppl"][test_label]
    table = perplexity_table(summary)
    assert "held-out perplexity" in table and OOD_LABEL in table
    assert "## Held-out perplexity" in (tmp_path / "t" / "report.md").read_text()
    # a corpus without a test split gets none under "auto": no held-out table at all
    plain = run(_config(tiny_dir, corpus, tmp_path / "plain", stage1={"steps": 0}),
                progress=False)
    assert plain["held_out"] == [{"label": "base model", "ppl": {}}]
    assert "held-out" not in perplexity_table(plain)


def test_extra_teacher_text_feeds_stage_2_and_skips_held_out_passages(tiny_dir, corpus,
                                                                      tmp_path):
    from liquidcare.data import load_corpus
    from liquidcare.train.teacher_text import extra_documents

    summary = run(_config(tiny_dir, corpus, tmp_path, extra_corpora=[str(corpus)],
                          self_samples=96, stage1={"steps": 2}), progress=False)
    # the corpus's own train split, then the extra file (its train part: the rest is held out
    # there) and the samples: stage 2 reads more rows than the corpus alone gives
    assert summary["stage2_tokens"] > summary["train_tokens"]
    assert "tokens in all for the last stage" in (tmp_path / "t" / "report.md").read_text()
    # an extra document that repeats eight words of held-out text is dropped
    held = load_corpus(str(corpus), "validation")[0]["text"]
    docs, dropped = extra_documents([str(corpus)], {tuple(held.lower().split()[:8])})
    assert dropped == 1 and held not in [d["text"] for d in docs]


def test_run_config_refuses_unknown_keys(tiny_dir, corpus, tmp_path):
    with pytest.raises(LiquidConfigError, match=r"unknown run config key\(s\) \['stages'\]"):
        _config(tiny_dir, corpus, tmp_path, stages=3)
    with pytest.raises(LiquidConfigError, match=r"unknown stage2 key\(s\) \['step'\]"):
        _config(tiny_dir, corpus, tmp_path, stage2={"step": 3})


def test_train_command_runs_a_yaml_config(tiny_dir, corpus, tmp_path, capsys):
    import yaml

    cfg = _config(tiny_dir, corpus, tmp_path).to_dict()
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert cli.main(["train", "--config", str(path), "--name", "yaml-run"]) == 0
    out = capsys.readouterr().out
    assert "after stage 2" in out and (tmp_path / "yaml-run" / "report.md").is_file()
    path.write_text("corpus: care\nstagez: 1\n")
    assert cli.main(["train", "--config", str(path)]) == 1
    assert "stagez" in capsys.readouterr().err


def test_every_shipped_config_is_valid():
    from pathlib import Path

    import yaml

    from liquidcare.serve.decoding import load_decoding
    from liquidcare.surgery import preset

    folder = Path(__file__).parent.parent / "configs"
    # decoding.yaml is the per-model table of decoding defaults, not a run config
    assert load_decoding(folder / "decoding.yaml")
    configs = sorted(p for p in folder.glob("*.yaml") if p.name != "decoding.yaml")
    assert len(configs) >= 6
    for path in configs:
        cfg = RunConfig.from_dict(yaml.safe_load(path.read_text()))
        assert cfg.name == path.stem
        preset(cfg.preset, layers=cfg.layers, **cfg.liquid)  # a valid LiquidConfig
        cfg.distill_config()


def test_a_killed_run_resumes_from_its_last_checkpoint(tiny_dir, corpus, tmp_path, monkeypatch):
    from liquidcare.train import distill

    cfg = _config(tiny_dir, corpus, tmp_path, stage1={"steps": 4}, stage2={"steps": 10},
                  checkpoint_every=3)
    whole = run(_config(tiny_dir, corpus, tmp_path / "whole", stage1={"steps": 4},
                        stage2={"steps": 10}), progress=False)
    original = distill.Checkpointer.save

    def save_then_die(self, name, step, *args):
        original(self, name, step, *args)
        if name == "stage 2" and step == 6:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(distill.Checkpointer, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run(cfg, progress=False)
    saves = []

    def recording_save(self, name, step, *args):
        saves.append((name, step))
        original(self, name, step, *args)

    monkeypatch.setattr(distill.Checkpointer, "save", recording_save)
    resumed = run(cfg, progress=False, resume=True)
    stage2 = resumed["losses"]["stage 2: end to end"]
    assert len(stage2) == 10
    # the six steps before the kill are the uninterrupted run's, replayed from the checkpoint
    assert stage2[:6] == whole["losses"]["stage 2: end to end"][:6]
    assert resumed["losses"]["stage 1: MLP matching"] == whole["losses"]["stage 1: MLP matching"]
    assert saves == [("stage 2", 9), ("stage 2", 10)]  # only the steps after the kill ran


def test_the_full_config_file_is_the_full_recipe():
    from pathlib import Path

    import yaml

    from liquidcare.train.pipeline import FULL_RECIPE

    path = Path(__file__).resolve().parents[1] / "configs" / "cfc-ncp-smollm2-full.yaml"
    shipped = RunConfig.from_dict(yaml.safe_load(path.read_text())).to_dict()
    full = RunConfig.from_dict({**RunConfig().to_dict(), **FULL_RECIPE}).to_dict()
    assert {k: v for k, v in shipped.items() if k != "name"} == \
        {k: v for k, v in full.items() if k != "name"}
    with pytest.raises(SystemExit, match="exclude each other"):
        cli.main(["demo", "--quick", "--full"])


def test_the_demo_config_file_holds_the_settings_that_make_demo_runs():
    # `liquidcare demo` runs RunConfig's defaults; configs/cfc-ncp-smollm2.yaml documents them
    # for `liquidcare train` and torchrun. The two must not drift apart.
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[1] / "configs" / "cfc-ncp-smollm2.yaml"
    data = yaml.safe_load(path.read_text())
    shipped, default = RunConfig.from_dict(data).to_dict(), RunConfig().to_dict()
    for key in data:
        if key != "name":
            assert shipped[key] == default[key], key
