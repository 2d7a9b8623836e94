"""liquidcare.serve.engine: one worker thread behind a bounded queue, streaming, reload."""

from __future__ import annotations

import threading

import pytest
import torch
from tiny_models import save_tiny, tiny_model, tiny_tokenizer

from liquidcare.serve.engine import (
    Engine,
    EngineBusyError,
    GenerationParams,
    PromptTooLongError,
    render_prompt,
)

CHAT = [{"role": "user", "content": "w5 w6 w7"}]


@pytest.fixture
def engine():
    e = Engine(tiny_model("llama"), tiny_tokenizer(), "tiny-v1")
    yield e
    e.close()


def _greedy_text(model, tokenizer, messages, n):
    enc = render_prompt(tokenizer, messages)
    out = model.generate(**enc, max_new_tokens=n, do_sample=False,
                         pad_token_id=tokenizer.eos_token_id)
    return tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)


def test_streamed_deltas_add_up_to_the_greedy_reply(engine):
    job = engine.submit(CHAT, GenerationParams(max_tokens=8))
    events = list(job.events(timeout=60))
    assert [e.kind for e in events][0] == "start" and events[-1].kind == "done"
    deltas = [e.text for e in events if e.kind == "delta"]
    assert len(deltas) > 1  # streamed, not one block
    expected = _greedy_text(engine.loaded.model, engine.loaded.tokenizer, CHAT, 8)
    assert "".join(deltas) == job.text == expected
    assert job.version == "tiny-v1"
    assert job.completion_tokens == 8 and job.finish_reason == "length"
    assert job.prompt_tokens == 3


def test_stop_string_ends_the_reply_before_it(engine):
    full = engine.generate(CHAT, GenerationParams(max_tokens=8)).text
    words = full.split()
    stop = words[2]
    first = full.index(stop)
    job = engine.generate(CHAT, GenerationParams(max_tokens=8, stop=[stop]))
    assert job.text == full[:first]
    assert job.finish_reason == "stop"


def test_concurrent_submissions_are_all_answered_in_order(engine):
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def client(i: int) -> None:
        try:
            job = engine.generate([{"role": "user", "content": f"w{i + 3}"}],
                                  GenerationParams(max_tokens=4))
            results[i] = job.text
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert sorted(results) == list(range(12))
    assert engine.served == 12
    # each reply is what the model says to that prompt alone: no mixing between jobs
    for i in (0, 7):
        alone = _greedy_text(engine.loaded.model, engine.loaded.tokenizer,
                             [{"role": "user", "content": f"w{i + 3}"}], 4)
        assert results[i] == alone


def test_full_queue_refuses_with_retry_after():
    release = threading.Event()
    engine = Engine(tiny_model("llama"), tiny_tokenizer(), "tiny", max_queue=2, retry_after=3)
    try:
        held = engine.submit(CHAT, GenerationParams(max_tokens=2),
                             on_complete=lambda job: release.wait(30))
        next(held.events(timeout=30))  # the worker has taken it: the queue is empty again
        waiting = [engine.submit(CHAT, GenerationParams(max_tokens=2)) for _ in range(2)]
        with pytest.raises(EngineBusyError) as info:
            engine.submit(CHAT, GenerationParams(max_tokens=2))
        assert info.value.retry_after == 3
        release.set()
        for job in [held, *waiting]:  # nothing that was accepted is lost
            assert list(job.events(timeout=60))[-1].kind == "done"
    finally:
        release.set()
        engine.close()


def test_prompt_longer_than_the_context_is_a_user_error(engine):
    long = [{"role": "user", "content": " ".join(["w9"] * 200)}]  # tiny llama reads 128
    with pytest.raises(PromptTooLongError, match="at most 128"):
        engine.generate(long)
    assert engine.generate(CHAT, GenerationParams(max_tokens=2)).text  # the worker lives on


def test_a_failing_job_does_not_stop_the_worker(engine):
    def boom(job):
        raise RuntimeError("disk full")

    job = engine.submit(CHAT, GenerationParams(max_tokens=2), on_complete=boom)
    events = list(job.events(timeout=60))
    assert events[-1].kind == "error" and "disk full" in str(events[-1].error)
    assert engine.generate(CHAT, GenerationParams(max_tokens=2)).completion_tokens == 2


def test_completion_hook_replaces_a_buffered_reply_before_anything_is_sent(engine):
    def replace(job):
        job.text = "checked reply"

    job = engine.submit(CHAT, GenerationParams(max_tokens=6, buffered=True),
                        on_complete=replace)
    events = list(job.events(timeout=60))
    assert [(e.kind, e.text) for e in events if e.kind in ("delta", "replace")] == [
        ("delta", "checked reply")]


def test_completion_hook_replacing_a_streamed_reply_says_so(engine):
    job = engine.submit(CHAT, GenerationParams(max_tokens=6),
                        on_complete=lambda j: setattr(j, "text", "other"))
    events = list(job.events(timeout=60))
    assert events[-2].kind == "replace" and events[-2].text == "other"


def test_reload_switches_new_jobs_while_the_running_one_finishes_on_the_old_model():
    release = threading.Event()
    loads: list[str] = []

    def loader(name: str):
        loads.append(name)
        return tiny_model("llama", seed=1), tiny_tokenizer()

    engine = Engine(tiny_model("llama"), tiny_tokenizer(), "v1", loader=loader,
                    versioner=lambda name: f"{name}@new")
    try:
        old_job = engine.submit(CHAT, GenerationParams(max_tokens=4),
                                on_complete=lambda job: release.wait(30))
        next(old_job.events(timeout=30))
        assert engine.reload("runs/x") == "runs/x@new"
        new_job = engine.submit(CHAT, GenerationParams(max_tokens=4))
        release.set()
        list(old_job.events(timeout=60))
        list(new_job.events(timeout=60))
        assert old_job.version == "v1" and new_job.version == "runs/x@new"
        assert loads == ["runs/x"]
        assert engine.version == "runs/x@new"
    finally:
        release.set()
        engine.close()


def test_reload_a_real_adapter_directory(tmp_path):
    from liquidcare.models import load_base
    from liquidcare.surgery import LiquidConfig, liquify, model_version, save_liquid

    base_dir = save_tiny(tmp_path / "base")
    engine = Engine.from_pretrained(str(base_dir), device="cpu")
    try:
        assert engine.version == str(base_dir)
        model, _ = load_base(str(base_dir), device="cpu")
        liquid = liquify(model, LiquidConfig(cell="cfc", wiring="fc", units=8, layers="last:1"))
        save_liquid(liquid, tmp_path / "runs" / "care" / "adapter")
        version = engine.reload(str(tmp_path / "runs" / "care"))
        assert version == model_version(tmp_path / "runs" / "care")
        assert version.startswith("care@")
        job = engine.generate(CHAT, GenerationParams(max_tokens=3))
        assert job.version == version and job.completion_tokens == 3
        assert any("Liquid" in type(m).__name__ for m in engine.loaded.model.modules())
    finally:
        engine.close()


def test_failed_reload_keeps_the_old_model(tmp_path):
    base_dir = save_tiny(tmp_path / "base")
    engine = Engine.from_pretrained(str(base_dir), device="cpu")
    try:
        with pytest.raises(Exception, match="no-such-model|not|missing"):
            engine.reload(str(tmp_path / "no-such-model"))
        assert engine.version == str(base_dir)
        assert engine.generate(CHAT, GenerationParams(max_tokens=2)).version == str(base_dir)
    finally:
        engine.close()


def test_sampling_with_a_seed_repeats(engine):
    params = dict(max_tokens=6, temperature=1.0, top_p=0.9, seed=3)
    a = engine.generate(CHAT, GenerationParams(**params)).text
    b = engine.generate(CHAT, GenerationParams(**params)).text
    assert a == b
    torch.manual_seed(0)


def test_a_closed_event_loop_does_not_kill_the_worker(engine):
    import asyncio
    import time

    loop = asyncio.new_event_loop()
    loop.close()  # the request's loop is gone before its job runs (a server shutting down)
    engine.submit(CHAT, GenerationParams(max_tokens=2), loop=loop)
    deadline = time.monotonic() + 60
    while engine.served < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.served == 1
    assert engine.generate(CHAT, GenerationParams(max_tokens=2)).completion_tokens == 2
