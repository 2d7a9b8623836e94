"""liquidcare.serve.decoding: repetition controls on the reply only, per-model defaults, and the
engine's use of them (keyword overrides, greedy determinism, cached == recomputed)."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from tiny_models import padded_prompts, tiny_model, tiny_tokenizer

from liquidcare.errors import UserError
from liquidcare.serve.decoding import (
    CONFIG_FILE,
    MODEL_DEFAULTS,
    DecodingConfigError,
    DecodingDefaults,
    ReplyPenalties,
    as_yaml_dict,
    defaults_for,
    load_decoding,
    parse_decoding,
)
from liquidcare.serve.engine import Engine, GenerationParams, render_prompt
from liquidcare.surgery import LiquidConfig, liquify

CHAT = [{"role": "user", "content": "w5 w6 w7"}]


# --- the logits processor ----------------------------------------------------------------------
def test_frequency_and_presence_penalties_follow_openai_and_skip_the_prompt():
    ids = torch.tensor([[4, 4, 5, 6, 6, 6]])  # prompt 4 4 5, reply 6 6 6
    scores = torch.zeros(1, 8)
    out = ReplyPenalties(prompt_len=3, frequency_penalty=0.5, presence_penalty=0.25)(ids, scores)
    expected = torch.zeros(1, 8)
    expected[0, 6] = -(3 * 0.5 + 0.25)
    assert torch.equal(out, expected)  # tokens 4 and 5 are only in the prompt: untouched
    assert torch.equal(scores, torch.zeros(1, 8))  # the input is not changed in place


def test_repetition_penalty_makes_a_seen_token_less_likely_whatever_its_sign():
    ids = torch.tensor([[1, 2, 3]])
    scores = torch.tensor([[2.0, 2.0, -2.0, 1.0]])
    out = ReplyPenalties(prompt_len=1, repetition_penalty=2.0)(ids, scores)
    assert out.tolist() == [[2.0, 2.0, -4.0, 0.5]]  # token 1 is the prompt's


def test_no_repeat_ngram_bans_only_ngrams_of_the_reply():
    # prompt holds "7 8 9"; reply "1 2 3 1 2": the next 3 would repeat the trigram "1 2 3"
    ids = torch.tensor([[7, 8, 9, 1, 2, 3, 1, 2]])
    out = ReplyPenalties(prompt_len=3, no_repeat_ngram_size=3)(ids, torch.zeros(1, 10))
    assert torch.isinf(out[0, 3]) and out[0, 3] < 0
    assert torch.isfinite(out[0, [0, 1, 2, 4, 5, 6, 7, 8, 9]]).all()
    # "7 8" then 9 is a prompt trigram: copying the prompt stays allowed
    ids = torch.tensor([[7, 8, 9, 7, 8]])
    out = ReplyPenalties(prompt_len=3, no_repeat_ngram_size=3)(ids, torch.zeros(1, 10))
    assert torch.isfinite(out).all()


def test_inactive_penalties_say_so():
    assert not ReplyPenalties(prompt_len=0).active
    assert ReplyPenalties(prompt_len=0, presence_penalty=-0.5).active


# --- defaults per model ------------------------------------------------------------------------
def test_the_shipped_yaml_equals_the_built_in_table():
    assert load_decoding(CONFIG_FILE) == MODEL_DEFAULTS
    assert yaml.safe_load(CONFIG_FILE.read_text()) == as_yaml_dict(MODEL_DEFAULTS)


def test_smollm2_gets_the_model_card_sampling_and_stops_at_the_end_of_its_turn(tmp_path):
    d = defaults_for("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert (d.temperature, d.top_p) == (0.2, 0.9)
    assert "<|im_end|>" in d.stop_tokens and d.repetition_penalty > 1.0
    assert defaults_for("smollm2") == d
    run = tmp_path / "run" / "adapter"  # a run directory is filed under its adapter's base model
    run.mkdir(parents=True)
    (run / "adapter_config.json").write_text(json.dumps({"base_model": "smollm2"}))
    (run / "adapter_model.safetensors").write_bytes(b"")
    assert defaults_for(str(tmp_path / "run")) == d
    assert defaults_for("gpt2") == MODEL_DEFAULTS["default"]


def test_bad_decoding_configs_name_the_problem(tmp_path):
    with pytest.raises(DecodingConfigError, match="unknown setting.*temprature"):
        parse_decoding({"default": {"temprature": 0.3}})
    with pytest.raises(DecodingConfigError, match="'top_p' must be in"):
        parse_decoding({"default": {"top_p": 0}})
    with pytest.raises(DecodingConfigError, match="needs a 'default'"):
        parse_decoding({"smollm2": {}})
    with pytest.raises(DecodingConfigError, match="does not exist"):
        load_decoding(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("default: [1, 2")
    with pytest.raises(DecodingConfigError, match="not valid YAML"):
        load_decoding(tmp_path / "bad.yaml")
    with pytest.raises(DecodingConfigError, match="repetition_penalty"):
        DecodingDefaults(repetition_penalty=0.5)


# --- the engine --------------------------------------------------------------------------------
def _recompute(model, tokenizer, messages, n, penalties: dict, use_cache: bool):
    enc = render_prompt(tokenizer, messages)
    prompt_len = enc["input_ids"].shape[1]
    out = model.generate(**enc, max_new_tokens=n, do_sample=False, use_cache=use_cache,
                         pad_token_id=tokenizer.eos_token_id,
                         logits_processor=[ReplyPenalties(prompt_len, **penalties)])
    return tokenizer.decode(out[0, prompt_len:], skip_special_tokens=True)


@pytest.fixture
def liquid_engine():
    model = liquify(tiny_model("llama"), LiquidConfig(cell="cfc", wiring="fc", units=16))
    engine = Engine(model, tiny_tokenizer(), "tiny-liquid",
                    decoding=DecodingDefaults(repetition_penalty=1.3, no_repeat_ngram_size=2))
    yield engine
    engine.close()


def test_engine_generate_takes_openai_penalties_as_keywords(liquid_engine):
    model, tokenizer = liquid_engine.loaded.model, liquid_engine.loaded.tokenizer
    plain = liquid_engine.generate(CHAT, max_tokens=12, temperature=0)
    penalised = liquid_engine.generate(CHAT, max_tokens=12, temperature=0,
                                       frequency_penalty=2.0, presence_penalty=2.0)
    expect = _recompute(model, tokenizer, CHAT, 12, dict(
        repetition_penalty=1.3, no_repeat_ngram_size=2, frequency_penalty=2.0,
        presence_penalty=2.0), use_cache=False)
    assert penalised.text == expect
    assert plain.text != penalised.text  # the penalties changed what was chosen
    with pytest.raises(UserError, match="unknown generation setting.*frequency_penalt\\b"):
        liquid_engine.generate(CHAT, frequency_penalt=1.0)


def test_cached_generation_with_penalties_equals_recompute_on_a_liquified_model(liquid_engine):
    model, tokenizer = liquid_engine.loaded.model, liquid_engine.loaded.tokenizer
    penalties = dict(repetition_penalty=1.3, no_repeat_ngram_size=2, frequency_penalty=0.4)
    cached = _recompute(model, tokenizer, CHAT, 16, penalties, use_cache=True)
    assert cached == _recompute(model, tokenizer, CHAT, 16, penalties, use_cache=False)
    assert liquid_engine.generate(CHAT, max_tokens=16, temperature=0,
                                  frequency_penalty=0.4).text == cached
    # and batched, left-padded prompts: the reply-only count starts after the padding
    ids, mask = padded_prompts((7, 4))
    proc = [ReplyPenalties(ids.shape[1], 1.3, 2, 0.4, 0.0)]
    a = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=10, do_sample=False,
                       pad_token_id=0, logits_processor=proc, use_cache=True)
    b = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=10, do_sample=False,
                       pad_token_id=0, logits_processor=proc, use_cache=False)
    assert torch.equal(a, b)


def test_greedy_is_deterministic_and_no_bigram_repeats_in_the_reply(liquid_engine):
    a = liquid_engine.generate(CHAT, max_tokens=30, temperature=0)
    b = liquid_engine.generate(CHAT, max_tokens=30, temperature=0)
    assert a.text == b.text
    words = a.text.split()
    bigrams = list(zip(words, words[1:], strict=False))
    assert len(words) > 10 and len(bigrams) == len(set(bigrams))


def test_a_tiny_model_left_alone_repeats_and_the_defaults_stop_it():
    model = tiny_model("llama")
    plain = Engine(model, tiny_tokenizer(), "plain")
    fixed = Engine(model, tiny_tokenizer(), "fixed", decoding=MODEL_DEFAULTS["default"])
    try:
        loop = plain.generate(CHAT, max_tokens=40).text.split()
        assert len(set(zip(loop, loop[1:], strict=False))) < len(loop) - 1  # it loops
        words = fixed.generate(CHAT, max_tokens=40).text.split()
        grams = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
        assert len(grams) == len(set(grams))
    finally:
        plain.close()
        fixed.close()


def test_request_values_win_over_the_model_defaults():
    d = DecodingDefaults(temperature=0.7, top_p=0.8, repetition_penalty=1.2)
    p = GenerationParams(temperature=0.0, presence_penalty=0.5).resolved(d)
    assert (p.temperature, p.top_p, p.repetition_penalty, p.presence_penalty) == (
        0.0, 0.8, 1.2, 0.5)


def test_a_stop_token_of_the_defaults_ends_the_turn():
    model, tokenizer = tiny_model("llama"), tiny_tokenizer()
    plain = Engine(model, tokenizer, "plain")
    try:
        words = plain.generate(CHAT, max_tokens=8).text.split()
    finally:
        plain.close()
    stop = words[3]
    first = words.index(stop)
    ending = Engine(model, tokenizer, "stops", decoding=DecodingDefaults(stop_tokens=(stop,)))
    try:
        job = ending.generate(CHAT, max_tokens=8)
    finally:
        ending.close()
    assert job.text.split() == words[:first]
    assert job.finish_reason == "stop" and job.completion_tokens == first + 1


def test_a_prepared_reply_streams_and_completes_without_the_model(liquid_engine):
    seen = []

    def on_complete(job):
        seen.append(job.text)
        job.extra["sources"] = ["x"]

    job = liquid_engine.submit(CHAT, GenerationParams(), prepared="First. Second one.\nThird.",
                               on_complete=on_complete)
    events = list(job.events(timeout=30))
    assert events[0].kind == "start" and events[-1].kind == "done"
    deltas = [e.text for e in events if e.kind == "delta"]
    assert len(deltas) == 3 and "".join(deltas) == "First. Second one.\nThird."
    assert seen == ["First. Second one.\nThird."] and job.extra["sources"] == ["x"]
    assert job.completion_tokens == 0 and job.finish_reason == "stop"
