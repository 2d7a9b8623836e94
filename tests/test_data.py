"""liquidcare.data: the bundled care corpus, loaders and their errors, tokenising and packing."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import torch
import transformers as tf
from tiny_models import tiny_tokenizer
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from liquidcare.data import (
    KINDS,
    LANGS,
    TOPICS,
    CorpusFormatError,
    DatasetNotAvailableError,
    PackedDataset,
    document_text,
    load_care_corpus,
    load_corpus,
    load_hub_corpus,
    load_jsonl,
    load_text_file,
    pack,
    token_count,
    tokenize_documents,
)
from liquidcare.data import hub as data_hub
from liquidcare.data.corpus import build_corpus, holdout
from liquidcare.data.ngrams import ngrams, shared, words
from liquidcare.data.records import check_care_record

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}")


@pytest.fixture(scope="module")
def care() -> dict[str, list[dict]]:
    return {split: load_care_corpus(split) for split in ("train", "validation", "test")}


@pytest.fixture(scope="module")
def bpe_tokenizer(care) -> tf.PreTrainedTokenizerFast:
    """A small byte-level BPE trained on the care corpus in well under a second, with ChatML
    markers: realistic text in, readable text out, no download."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator((document_text(d) for d in care["train"][:150]), trainer)
    tokenizer = tf.PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>")
    tokenizer.chat_template = CHATML
    return tokenizer


# -- the bundled corpus ----------------------------------------------------------------------------

def test_care_corpus_size_languages_topics_kinds(care):
    everything = [r for records in care.values() for r in records]
    assert len(everything) >= 300
    langs = Counter(r["lang"] for r in everything)
    assert all(langs[lang] / len(everything) >= 0.4 for lang in LANGS)
    cells = {(r["lang"], r["topic"]) for r in everything}
    assert cells == {(lang, topic) for lang in LANGS for topic in TOPICS}
    for split, records in care.items():
        assert {(r["lang"], r["kind"]) for r in records} == {(la, k) for la in LANGS
                                                             for k in KINDS}, split
    for split in ("validation", "test"):  # ~70/15/15
        assert 0.1 <= len(care[split]) / len(everything) <= 0.2, split


def test_care_records_valid_ids_unique_splits_disjoint(care):
    ids = [r["id"] for records in care.values() for r in records]
    assert len(ids) == len(set(ids))
    for split, records in care.items():
        for r in records:
            check_care_record(r, split)
    train_texts = {document_text(r) for r in care["train"]}
    assert not train_texts & {document_text(r) for r in care["validation"] + care["test"]}
    assert len(train_texts) == len(care["train"])  # no repeated document inside train either


def test_care_corpus_filters():
    es_notes = load_care_corpus("train", lang="es", kind="note")
    assert es_notes and all(r["lang"] == "es" and r["kind"] == "note" for r in es_notes)
    assert all("messages" in r for r in load_care_corpus("validation", kind="dialogue"))
    with pytest.raises(ValueError, match="split='dev'"):
        load_care_corpus("dev")
    with pytest.raises(ValueError, match="lang='fr'"):
        load_care_corpus("train", lang="fr")


def _frozen(kind: str) -> list[str]:
    root = Path(__file__).resolve().parents[1] / "evals" / kind
    return [json.loads(line)["text"] for path in sorted(root.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_held_out_splits_share_no_8gram_with_train(care):
    """Validation and test are built from a held-out part of the bank: no passage of eight words
    (lower case, punctuation ignored) of train occurs in them, nor in the frozen care set."""
    train = [document_text(r) for r in care["train"]]
    for split in ("validation", "test"):
        common = shared(train, [document_text(r) for r in care[split]])
        assert not common, f"{split} shares {len(common)} 8-grams with train, e.g. {min(common)}"
    assert not shared(train, _frozen("care_text")), "train shares an 8-gram with evals/care_text"
    assert not shared(train, _frozen("general_text"))
    # and validation and test hold different situations: only shared lines may coincide
    val_topics = {r["topic"] for r in care["validation"]}
    assert val_topics and not val_topics & {r["topic"] for r in care["test"]}


def test_ngrams_normalise_case_and_punctuation():
    assert words("Call 999 -- NOW, please!") == ["call", "999", "now", "please"]
    assert ngrams("one two three", n=2) == {("one", "two"), ("two", "three")}
    assert ngrams("too short", n=8) == set()
    assert shared(["A b c d e f g h i"], ["x A, B c d e f g h"]) == {tuple("abcdefgh")}


def test_holdout_partitions_lines_within_groups():
    lines = ["f | a", "f | b", "f | c", "m | d", "m | e", "x | alone"]
    group = lambda line: line.split("|")[0]  # noqa: E731
    held = holdout.split_lines(lines, True, group)
    train = holdout.split_lines(lines, False, group)
    assert held == ["f | c", "m | e", "x | alone"]  # every third, at least one of a pair
    assert train == ["f | a", "f | b", "m | d", "x | alone"]  # a line alone serves both halves
    assert holdout.overlapping({"t1": "one two three four five six seven eight nine",
                                "t2": "nothing in common at all with the other text here"},
                               ["zero one two three four five six seven eight"]) == ["t1"]


def test_general_dev_set_is_prose_apart_from_the_frozen_sets():
    docs = load_corpus("general-dev", "validation")
    assert {d["lang"] for d in docs} == set(LANGS) and len(docs) >= 20
    assert all(len(d["text"].split()) >= 70 for d in docs)
    texts = [d["text"] for d in docs]
    assert not shared(texts, _frozen("general_text") + _frozen("care_text"))
    with pytest.raises(ValueError, match="evaluation set only"):
        load_corpus("general-dev", "train")


def test_care_corpus_regenerates_byte_identical(tmp_path):
    for split, path in build_corpus.write(tmp_path).items():
        shipped = build_corpus.corpus_dir() / build_corpus.FILES[split]
        assert path.read_bytes() == shipped.read_bytes(), f"{split}: run build_corpus again"


def test_care_dialogues_varied_and_filled_in(care):
    dialogues = [r for records in care.values() for r in records if r["kind"] == "dialogue"]
    turns = [m["content"] for r in dialogues for m in r["messages"] if m["role"] == "assistant"]
    # Measured: 4.1% of assistant turns repeat another word for word (short emergency answers
    # whose first instruction is fixed on purpose, follow-ups with two alternative answers: train
    # draws from two scenarios per topic since one is held out). A one-template generator
    # repeats far more; 6% leaves room to edit the bank without hiding such a regression.
    assert (len(turns) - len(set(turns))) / len(turns) < 0.06
    assert max(Counter(turns).values()) <= 2
    lengths = Counter(sum(m["role"] != "system" for m in r["messages"]) for r in dialogues)
    assert set(lengths) == {2, 4, 6, 8}
    assert any(m["role"] == "system" for r in dialogues for m in r["messages"])
    # every placeholder of the bank filled in
    for r in [r for records in care.values() for r in records]:
        assert not re.search(r"[{}]", document_text(r)), r["id"]


def test_care_emergency_numbers_follow_the_convention(care):
    # English documents are set in the UK (999), Spanish ones in Spain (112); never 911.
    text = {lang: " ".join(document_text(r) for records in care.values() for r in records
                           if r["lang"] == lang) for lang in LANGS}
    assert "999" in text["en"] and "112" not in text["en"]
    assert "112" in text["es"] and "999" not in text["es"]
    assert "911" not in text["en"] + text["es"]


def test_care_spanish_register_is_consistent(care):
    usted = re.compile(r"\b(usted|cuídese|cuénteme|dígame|vuelva cuando|le preparo)\b")
    tu = re.compile(r"\b(tú|contigo|cuídate|cuéntame|escríbeme|vuelve cuando|te preparo|"
                    r"preguntes)\b")
    for r in [r for records in care.values() for r in records]:
        if r["lang"] == "es" and r["kind"] == "dialogue":
            said = " ".join(m["content"].lower() for m in r["messages"]
                            if m["role"] == "assistant")
            assert not (usted.search(said) and tu.search(said)), r["id"]


# -- local files and their errors ------------------------------------------------------------------

def test_load_text_file_blank_lines_separate_documents(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("first line\nstill first\n\n\n  \nsecond\r\n\r\nthird\n", encoding="utf-8")
    assert load_text_file(path) == [{"text": "first line\nstill first"}, {"text": "second"},
                                    {"text": "third"}]
    (tmp_path / "empty.txt").write_text("\n \n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="no text"):
        load_text_file(tmp_path / "empty.txt")
    with pytest.raises(FileNotFoundError, match="missing.txt.*no such file"):
        load_text_file(tmp_path / "missing.txt")


def test_load_jsonl_records_and_errors(tmp_path):
    path = tmp_path / "c.jsonl"
    chat = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}
    path.write_text(json.dumps({"body": "a review", "stars": 4}) + "\n\n" + json.dumps(chat) + "\n",
                    encoding="utf-8")
    docs = load_jsonl(path, text_field="body")
    assert docs[0] == {"body": "a review", "stars": 4, "text": "a review"}
    assert docs[1] == chat

    path.write_text('{"text": "fine"}\n{"text": broken\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"c\.jsonl:2: bad JSON"):
        load_jsonl(path)
    path.write_text('{"text": "fine"}\n{"body": "no text here"}\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"c\.jsonl:2: field 'text' missing"):
        load_jsonl(path)
    path.write_text('{"text": "  "}\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"c\.jsonl:1: field 'text'"):
        load_jsonl(path)
    bad_role = {"messages": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "x"}]}
    path.write_text(json.dumps(bad_role) + "\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"c\.jsonl:1: field 'messages\[1\]\.role'"):
        load_jsonl(path)
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        load_jsonl(tmp_path / "nope.jsonl")


def test_care_record_error_names_field():
    record = {"id": "x", "lang": "en", "kind": "note", "topic": "gardening", "text": "t"}
    with pytest.raises(CorpusFormatError, match=r"f\.jsonl:7: field 'topic'"):
        check_care_record(record, "f.jsonl", 7)


def test_load_corpus_specs_and_local_split(tmp_path):
    assert {r["lang"] for r in load_corpus("care:es")} == {"es"}
    assert len(load_corpus("care", "validation")) == len(load_care_corpus("validation"))
    path = tmp_path / "many.txt"
    path.write_text("\n\n".join(f"document {i}" for i in range(25)), encoding="utf-8")
    validation = [d["text"] for d in load_corpus(str(path), "validation")]
    assert validation == ["document 9", "document 19"]  # every 10th, fixed by position
    assert len(load_corpus(str(path))) == 23
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps({"text": f"t{i}"}) + "\n" for i in range(3)))
    assert [d["text"] for d in load_corpus(str(small), "validation")] == ["t2"]
    with pytest.raises(ValueError, match="unknown corpus 'wikipedia'.*care:es"):
        load_corpus("wikipedia")
    with pytest.raises(FileNotFoundError):
        load_corpus(str(tmp_path / "absent.jsonl"))


# -- hub corpora: only the offline and argument paths (no network in tests) ------------------------

def test_hub_offline_fails_fast_with_the_bundled_alternative(monkeypatch, tmp_path):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(data_hub, "hub_reachable", lambda timeout=5.0: False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path)
    seen_offline = []
    real_load = datasets.load_dataset

    def spy(*args, **kwargs):
        seen_offline.append(datasets.config.HF_HUB_OFFLINE)  # no network retries possible
        return real_load(*args, cache_dir=str(tmp_path), **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", spy)
    before = datasets.config.HF_HUB_OFFLINE
    with pytest.raises(DatasetNotAvailableError) as err:
        load_hub_corpus("tinystories", limit=3)
    message = str(err.value)
    assert "tinystories" in message and "roneneldan/TinyStories" in message
    assert "'care'" in message and ".jsonl" in message
    assert seen_offline == [True] and datasets.config.HF_HUB_OFFLINE == before


def test_hub_offline_env_skips_the_probe(monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")

    def probe(timeout=5.0):
        raise AssertionError("probed the hub although HF_DATASETS_OFFLINE=1")

    def missing(*args, **kwargs):
        raise FileNotFoundError("not cached")

    monkeypatch.setattr(data_hub, "hub_reachable", probe)
    monkeypatch.setattr(datasets, "load_dataset", missing)
    with pytest.raises(DatasetNotAvailableError, match="'yelp'.*HF_DATASETS_OFFLINE"):
        load_corpus("yelp", "validation")


def test_hub_rows_split_limit_and_field(monkeypatch):
    """The online path with `load_dataset` stubbed: split names, the carved validation split of
    medical-es, limit and the text field."""
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_load(repo, config, split, streaming=False):
        calls.append((repo, split, streaming))
        return [{"text": f"row {i}"} for i in range(40)]

    monkeypatch.setattr(data_hub, "hub_reachable", lambda timeout=5.0: True)
    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    docs = load_hub_corpus("medical-es", "validation", streaming=True, limit=3)
    assert [d["text"] for d in docs] == ["row 9", "row 19", "row 29"]
    assert calls[-1] == ("HiTZ/Multilingual-Medical-Corpus", "es", True)
    assert len(load_hub_corpus("medical-es", "train")) == 36
    load_hub_corpus("yelp", "validation", limit=1)
    assert calls[-1][:2] == ("Yelp/yelp_review_full", "test")
    with pytest.raises(CorpusFormatError, match="field 'story' missing"):
        load_hub_corpus("tinystories", text_field="story")


def test_hub_argument_errors():
    with pytest.raises(ValueError, match="unknown hub corpus 'wiki'"):
        load_hub_corpus("wiki")
    with pytest.raises(ValueError, match="needs limit"):
        load_hub_corpus("tinystories", streaming=True)


# -- tokenising and packing ------------------------------------------------------------------------

def test_tokenize_text_adds_eos_once():
    tok = tiny_tokenizer()
    ids = tokenize_documents(["w1 w2", {"text": "w3"}, "w4 </s>"], tok)
    assert ids == [[4, 5, tok.eos_token_id], [6, tok.eos_token_id], [7, tok.eos_token_id]]
    assert tokenize_documents(["w1 w2"], tok, add_eos=False) == [[4, 5]]
    assert len(tokenize_documents(["w1 w2", "w3", "w4"], tok, max_tokens=4)) == 2


def test_tokenize_dialogue_uses_chat_template(bpe_tokenizer, care):
    dialogue = next(r for r in care["validation"] if r["kind"] == "dialogue")
    ids = tokenize_documents([dialogue], bpe_tokenizer)[0]
    start = bpe_tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert ids.count(start) == ids.count(bpe_tokenizer.eos_token_id) == len(dialogue["messages"])
    text = bpe_tokenizer.decode(ids)
    # The template's own closing "<|im_end|>\n" ends the document: no second eos after it.
    assert text.endswith("<|im_start|>assistant\n" + dialogue["messages"][-1]["content"]
                         + "<|im_end|>\n")


def test_tokenize_dialogue_without_template_falls_back_to_role_lines(bpe_tokenizer):
    plain = tf.PreTrainedTokenizerFast(tokenizer_object=bpe_tokenizer.backend_tokenizer,
                                       eos_token="<|im_end|>")
    assert not plain.chat_template
    messages = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi."}]
    text = plain.decode(tokenize_documents([{"messages": messages}], plain)[0])
    assert text == "user: Hello\nassistant: Hi.<|im_end|>"


def test_pack_blocks_eos_tail_and_determinism():
    docs = [[5, 6, 7, 2], [8, 9, 2], [10, 11, 12, 13, 2]]
    blocks = pack(docs, block_size=4)
    assert blocks.dtype == torch.long and blocks.shape == (3, 4)  # 12 tokens, no tail
    assert blocks.flatten().tolist() == [5, 6, 7, 2, 8, 9, 2, 10, 11, 12, 13, 2]
    assert torch.equal(blocks, pack(docs, block_size=4))
    assert pack(docs, block_size=5).shape == (2, 5)  # the last 2 tokens are dropped
    assert pack([[5, 6], [7]], block_size=2, eos_id=2).flatten().tolist() == [5, 6, 2, 7]
    assert token_count(docs) == 12
    with pytest.raises(ValueError, match="fewer than one block"):
        pack([[1, 2]], block_size=8)
    with pytest.raises(ValueError, match="block_size=1"):
        pack(docs, block_size=1)


def test_packed_dataset_items_and_loader(bpe_tokenizer, care):
    data = PackedDataset.from_documents(care["validation"], bpe_tokenizer, block_size=64)
    tokens = token_count(tokenize_documents(care["validation"], bpe_tokenizer))
    assert len(data) == tokens // 64 and data.token_count == len(data) * 64
    item = data[0]
    assert set(item) == {"input_ids", "labels"} and torch.equal(item["input_ids"], item["labels"])
    item["labels"][0] = -100
    assert data[0]["input_ids"][0] != -100  # labels are a copy
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=4)))
    assert batch["input_ids"].shape == (4, 64)
    eos = bpe_tokenizer.eos_token_id
    assert (data.blocks == eos).sum() >= len(care["validation"]) - 1  # documents stay separated
    with pytest.raises(ValueError, match="2-D LongTensor"):
        PackedDataset(torch.zeros(4))


@pytest.mark.slow
def test_care_corpus_with_smollm2_tokenizer(embedded_smollm2, care):
    _, tokenizer = embedded_smollm2
    counts = {split: token_count(tokenize_documents(records, tokenizer))
              for split, records in care.items()}
    print(f"\ncare corpus, SmolLM2 tokens: {counts}")
    assert counts["train"] > 4 * max(counts["validation"], counts["test"]) > 0
    dialogue = next(r for r in care["train"] if r["kind"] == "dialogue")
    assert "<|im_start|>assistant" in tokenizer.decode(tokenize_documents([dialogue], tokenizer)[0])
    blocks = pack(tokenize_documents(care["validation"], tokenizer), block_size=256)
    text = tokenizer.decode(blocks[1])
    assert len(re.findall(r"[A-Za-záéíóúñ]{3,}", text)) > 60  # words, not byte soup


def test_dialogues_without_a_system_turn_get_the_care_prompt_in_their_language():
    from tiny_models import tiny_tokenizer

    from liquidcare.data import CARE_SYSTEM_PROMPT, tokenize_documents
    from liquidcare.data.tokens import with_system

    tokenizer = tiny_tokenizer()
    bare = {"lang": "es", "messages": [{"role": "user", "content": "w1"}]}
    own = {"lang": "es", "messages": [{"role": "system", "content": "w2"},
                                      {"role": "user", "content": "w1"}]}
    assert with_system(own["messages"], "w9") == own["messages"]
    assert with_system(bare["messages"], "w9")[0] == {"role": "system", "content": "w9"}
    plain, prompted, kept = (
        tokenize_documents([doc], tokenizer, default_system=system)[0]
        for doc, system in ((bare, None), (bare, CARE_SYSTEM_PROMPT), (own, CARE_SYSTEM_PROMPT)))
    assert len(prompted) > len(plain)  # the Spanish prompt was added
    assert tokenize_documents([own], tokenizer)[0] == kept  # a dialogue's own prompt wins
