"""The retraining LM step is completion-only: the loss is the NLL of the model's reply tokens
alone, the prompt (system prompt, the user's words) only read; and each use reads only rows
exported for its consent scope."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from federated_helpers import rated_rows, tiny_world, write_rows

from liquidcare.federated import FedConfig
from liquidcare.train.evaluation import IGNORE_INDEX

# a word sequence that occurs in the prompt and nowhere in any reply
UNIQUE = "w87 w88 w89 w90"
# the template of a chat model (a turn opener, an end-of-turn token, a generation prompt), with
# the tiny model's words standing for SmolLM2's <|im_start|>assistant and <|im_end|>
CHAT_TEMPLATE = ("{% for m in messages %}w0 {{ m['content'] }} w91 {% endfor %}"
                 "{% if add_generation_prompt %}w0 {% endif %}")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from liquidcare.federated.centre import build_model

    world = tiny_world(tmp_path_factory.mktemp("completion-world"))
    return build_model(FedConfig(model=str(world["model"]), layers="last:1", units=16, seed=5))


def _rows() -> list[dict]:
    rows = rated_rows(6)
    for row in rows:
        row["prompt"][-1]["content"] += " " + UNIQUE
    return rows


def _words(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("template", ["tiny", "chat"])
def test_the_labels_are_exactly_each_good_replys_tokens(tiny, template):
    from liquidcare.federated.retrain import conversation_shard, good_conversations

    model, tokenizer = tiny
    if template == "chat":
        tokenizer = copy.deepcopy(tokenizer)
        tokenizer.chat_template = CHAT_TEMPLATE
    good = [r for r in _rows() if r["label"]]
    shard = conversation_shard(model, tokenizer, good_conversations(_rows()), block_size=256)
    assert shard.train.shape[0] == len(good)  # one block per good reply, none of the bad ones
    assert shard.train_start is not None  # the suffix path: the stream was computed
    for block, labels, row in zip(shard.train, shard.train_labels, good, strict=True):
        reply = _words(tokenizer, row["completion"][0]["content"])
        # the reply, the end-of-turn the model writes (chat), and the eos packing adds
        end_of_turn = _words(tokenizer, "w91") if template == "chat" else []
        expected = reply + end_of_turn + [tokenizer.eos_token_id]
        kept = labels != IGNORE_INDEX
        assert labels[kept].tolist() == expected
        # the labelled tokens are the block's last real ones, and the labels are the inputs
        assert torch.equal(block[kept], labels[kept])
        first = int(kept.nonzero()[0])
        assert kept[first:first + len(expected)].all() and int(kept.sum()) == len(expected)
        # all before is the prompt (its unique words and, with a chat template, the
        # generation prompt w0 the model reads but did not write), never a target
        before = block[:first].tolist()
        text = tokenizer.decode(before)
        assert UNIQUE in text and "w1 w2" in text
        if template == "chat":
            assert before[-1:] == _words(tokenizer, "w0")


def test_the_lm_loss_is_the_nll_of_the_reply_tokens_only(tiny):
    """train_lm's first loss (taken before the step) equals the mean NLL of the reply tokens
    computed by hand with the whole model (not the cached stream), and differs from the NLL of
    the whole dialogue: the prompt's tokens count for nothing."""
    from liquidcare.federated.centre import train_lm
    from liquidcare.federated.retrain import conversation_shard, good_conversations

    model, tokenizer = tiny
    shard = conversation_shard(model, tokenizer, good_conversations(_rows()), block_size=256)
    with torch.no_grad():
        logp = model(input_ids=shard.train, use_cache=False).logits[:, :-1].float() \
            .log_softmax(-1)
    targets = shard.train_labels[:, 1:]
    kept = targets != IGNORE_INDEX
    nll = -logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    reply_only = nll[kept].mean().item()
    real = torch.ones_like(kept)  # every real (non-padding) target of the whole dialogue
    for i, labels in enumerate(shard.train_labels):
        last = int((labels != IGNORE_INDEX).nonzero()[-1])
        real[i, last:] = False
    whole = -logp.gather(-1, shard.train[:, 1:].unsqueeze(-1)).squeeze(-1)[real].mean().item()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    try:
        losses = train_lm(model, shard, 1, lr=1e-3, batch_size=shard.train.shape[0])
    finally:
        model.load_state_dict(state)
    assert losses[0] == pytest.approx(reply_only, rel=1e-4)
    assert abs(whole - reply_only) > 1e-2


def test_retraining_reports_the_reply_tokens_it_learnt_from(tiny):
    from liquidcare.federated.retrain import retrain_from_rows

    model, tokenizer = tiny
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    try:
        summary = retrain_from_rows(model, tokenizer, _rows(), lm_steps=3, kto_steps=0)
    finally:
        model.load_state_dict(state)
    # 3 good replies of 4 words, each with its eos
    assert summary["lm_completion_tokens"] == 3 * 5


def test_a_long_dialogue_keeps_its_reply_and_cuts_the_prompts_start():
    from liquidcare.federated.retrain import completion_blocks

    long_prompt = list(range(10, 30))  # 20 context tokens, then 5 reply tokens
    blocks, labels = completion_blocks([(long_prompt + [60, 61, 62, 63, 2], 20),
                                        ([10, 11, 50, 2], 2)], block_size=8, pad_id=2)
    assert blocks[0].tolist() == [27, 28, 29, 60, 61, 62, 63, 2]
    assert labels[0].tolist() == [IGNORE_INDEX] * 3 + [60, 61, 62, 63, 2]
    assert blocks[1].tolist() == [10, 11, 50, 2, 2, 2, 2, 2]  # padded on the right
    assert labels[1].tolist() == [IGNORE_INDEX] * 2 + [50, 2] + [IGNORE_INDEX] * 4
    # a reply longer than a block keeps its start, after the last context token
    blocks, labels = completion_blocks([([10, 11, 12] + list(range(40, 52)), 3)],
                                       block_size=6, pad_id=2)
    assert blocks[0].tolist() == [12, 40, 41, 42, 43, 44]
    assert labels[0].tolist() == [IGNORE_INDEX, 40, 41, 42, 43, 44]


def test_each_use_reads_only_rows_exported_for_its_scope(tmp_path):
    from liquidcare.federated.retrain import TrainingSetError, read_training_rows

    own = write_rows(tmp_path / "own.jsonl", rated_rows(2, scope="research_retraining"))
    fed = write_rows(tmp_path / "fed.jsonl", rated_rows(2, scope="federated"))
    assert len(read_training_rows(own)) == 2  # `liquidcare retrain`: research_retraining
    assert len(read_training_rows(fed, "federated")) == 2
    with pytest.raises(TrainingSetError, match="--scope federated"):
        read_training_rows(own, "federated")
    with pytest.raises(TrainingSetError, match="--scope research_retraining"):
        read_training_rows(fed)
    bare = [{k: v for k, v in r.items() if k != "scope"} for r in rated_rows(2)]
    with pytest.raises(TrainingSetError, match="scope"):
        read_training_rows(write_rows(tmp_path / "bare.jsonl", bare))


def test_a_federated_export_is_what_a_centre_reads(tmp_path: Path):
    """Through the store: a user who consents to federated learning only is in the federated
    export (rows marked so, which a centre accepts) and in no research_retraining one."""
    from liquidcare.federated.retrain import read_training_rows
    from liquidcare.feedback import open_store

    with open_store(tmp_path / "care.db") as store:
        user, _ = store.add_user("Ana", role="carer")
        store.grant_consent("federated", user_id=user.id, by=user)
        conv = store.start_conversation(by=user)
        store.add_message(conv.id, "user", "w10 w11", by=user)
        reply = store.add_message(conv.id, "assistant", "w12 w13", by=user,
                                  model_version="tiny")
        store.rate(reply.id, 1, by=user)
        assert store.export_training_set(tmp_path / "fed.jsonl", scope="federated") == 1
        assert store.export_training_set(tmp_path / "own.jsonl") == 0
    rows = read_training_rows(tmp_path / "fed.jsonl", "federated")
    assert [r["scope"] for r in rows] == ["federated"]
    assert rows[0]["completion"][0]["content"] == "w12 w13"


@pytest.mark.slow
def test_smollm2_learns_only_its_reply_and_end_of_turn():
    """On the embedded model's ChatML template: the context ends with the generation prompt
    ``<|im_start|>assistant\\n``, the labels are the reply and its ``<|im_end|>``."""
    from liquidcare.federated.retrain import completion_example
    from liquidcare.models import load_base

    _, tokenizer = load_base("smollm2", device="cpu")
    row = {"prompt": [{"role": "system", "content": "You are a care assistant."},
                      {"role": "user", "content": f"Mi madre toma digoxina. {UNIQUE}"}],
           "completion": [{"role": "assistant", "content": "Llame a su médico hoy mismo."}]}
    ids, context = completion_example(row, tokenizer)
    assert tokenizer.decode(ids[:context]).endswith(f"{UNIQUE}<|im_end|>\n"
                                                    "<|im_start|>assistant\n")
    assert tokenizer.decode(ids[context:]) == "Llame a su médico hoy mismo.<|im_end|>\n"
