"""More text for the teacher to speak on: extra corpora and text sampled from the base model.

Distillation asks the student to agree with the teacher, and the teacher has an opinion on any
text, so the care corpus (~80k tokens) need not be the only thing the student sees: trained for
many epochs on it alone, the liquid blocks fit its sentences, not the MLPs they replace (the old
demo scored 0.94x the base perplexity on validation text composed from train's sentences, 1.26x
on care text it had never seen). Two free sources:

- **extra corpora** (``extra_corpora``: corpus specs or files; e.g. the knowledge base's
  articles) read as more training documents;
- **samples from the base model itself** (``self_samples`` tokens): it answers care questions
  taken from the training dialogues and writes short pieces on general subjects, in English and
  Spanish. On its own samples the teacher's distribution is exactly what the student must match,
  and general subjects keep the out-of-domain ability the care text never exercises.

Anything that shares a word 8-gram with the held-out splits (validation, test, out-of-domain dev)
or with the frozen evaluation sets is dropped before it is used, so the figures stay honest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import Tensor

from liquidcare.data.ngrams import ngram_set, ngrams

# Subjects for the general samples: short, varied, nothing about care.
GENERAL_SUBJECTS = {
    "en": ["how tides work", "the history of the printing press", "making a simple soup",
           "why the sky is blue", "how volcanoes form", "a walk in a pine forest",
           "how a refrigerator keeps food cold", "the rules of football", "growing tomatoes",
           "how birds migrate", "the invention of the telephone", "a busy railway station",
           "how to plan a picnic", "what a library does", "the water cycle", "learning to swim"],
    "es": ["cómo se forman las nubes", "la historia del ferrocarril", "una receta de tortilla",
           "por qué cambian las estaciones", "los ríos de la península", "un paseo por la playa",
           "cómo funciona una bicicleta", "las reglas del baloncesto", "cultivar un huerto",
           "la vida de las hormigas", "la invención de la radio", "un mercado de pueblo",
           "cómo organizar una excursión", "para qué sirve un museo", "el ciclo del agua",
           "aprender a nadar"],
}
ASK = {"en": "Write a short paragraph about {}.", "es": "Escribe un párrafo breve sobre {}."}


def avoid_ngrams(held_texts: Iterable[str]) -> set[tuple[str, ...]]:
    """The 8-grams no training text may share: ``held_texts`` and the repository's frozen
    evaluation paragraphs (evals/*_text, when run from a checkout)."""
    avoid = ngram_set(held_texts)
    evals = Path(__file__).resolve().parents[3] / "evals"
    for path in sorted(evals.glob("*_text/*.jsonl")):
        avoid |= ngram_set(json.loads(line)["text"]
                           for line in path.read_text(encoding="utf-8").splitlines()
                           if line.strip())
    return avoid


KNOWLEDGE_BASE = "knowledge-base"


def knowledge_base_dir() -> Path:
    """The vetted care articles shipped with the package (read as data files: `train` does not
    import the `knowledge` package, which sits above it)."""
    return Path(__file__).resolve().parents[1] / "knowledge" / "data"


def _load(spec: str):
    """Documents of an extra corpus: ``knowledge-base`` (the shipped care articles), a folder
    (every .jsonl in it, sorted), a .jsonl/.txt file (all of it: an extra corpus has no
    validation use) or a corpus spec (its train split)."""
    from liquidcare.data import load_corpus
    from liquidcare.data.files import load_jsonl, load_text_file

    path = knowledge_base_dir() if spec == KNOWLEDGE_BASE else Path(spec)
    if path.is_dir():
        files = sorted(path.rglob("*.jsonl"))
        if not files:
            raise ValueError(f"extra corpus {spec!r}: a folder with no .jsonl files")
        return [d for f in files for d in load_jsonl(f)]
    if path.suffix.lower() == ".jsonl" and path.is_file():
        return load_jsonl(path)
    if path.suffix.lower() == ".txt" and path.is_file():
        return load_text_file(path)
    return load_corpus(spec, "train")


def extra_documents(specs: list[str], avoid: set[tuple[str, ...]]) -> tuple[list, int]:
    """The documents of ``specs`` that share no 8-gram in ``avoid``, and how many were dropped."""
    from liquidcare.data import document_text

    kept, dropped = [], 0
    for spec in specs:
        for doc in _load(spec):
            if ngrams(document_text(doc)) & avoid:
                dropped += 1
            else:
                kept.append(doc)
    return kept, dropped


def sample_prompts(train_docs: list, n: int, seed: int) -> list[list[dict[str, str]]]:
    """``n`` chat prompts, alternating a care question (a training dialogue's system turn, if
    any, and first user turn) and a general subject, languages in turn."""
    import random

    from liquidcare.data import CARE_SYSTEM_PROMPT

    rng = random.Random(seed)
    care = [d for d in train_docs if "messages" in d]
    out = []
    for i in range(n):
        lang = ("en", "es")[(i // 2) % 2]
        if i % 2 == 0 and care:
            doc = rng.choice([d for d in care if d.get("lang") == lang] or care)
            msgs = doc["messages"]
            system = msgs[0]["content"] if msgs[0]["role"] == "system" else \
                CARE_SYSTEM_PROMPT[doc.get("lang", "en")]
            user = next(m["content"] for m in msgs if m["role"] == "user")
        else:
            system = CARE_SYSTEM_PROMPT[lang]  # the care model's identity, not SmolLM's
            user = ASK[lang].format(rng.choice(GENERAL_SUBJECTS[lang]))
        out.append([{"role": "system", "content": system}, {"role": "user", "content": user}])
    return out


@torch.no_grad()
def sample_from_base(model, tokenizer, train_docs: list, tokens: int, new_tokens: int = 160,
                     batch: int = 16, seed: int = 0, temperature: float = 0.9,
                     avoid: set[tuple[str, ...]] | None = None) -> tuple[list[list[int]], int]:
    """Conversations (prompt + sampled answer) generated by the base ``model`` with about
    ``tokens`` new tokens in all (``new_tokens`` per answer at most), as token-id lists ready to
    pack; and how many were dropped for touching ``avoid``."""
    device = next(model.parameters()).device
    per_round = batch * new_tokens
    rounds = max(1, -(-tokens // per_round))
    prompts = sample_prompts(train_docs, rounds * batch, seed)
    g = torch.Generator(device="cpu").manual_seed(seed)
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # decoder-only generation pads on the left
    out, dropped = [], 0
    try:
        for r in range(rounds):
            chunk = prompts[r * batch : (r + 1) * batch]
            texts = [tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False)
                     for p in chunk]
            enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            enc = {k: v.to(device) for k, v in enc.items()}
            gen = model.generate(**enc, max_new_tokens=new_tokens, do_sample=True,
                                 temperature=temperature, top_p=0.95, pad_token_id=pad)
            for row, mask in zip(gen.cpu(), enc["attention_mask"].cpu(), strict=True):
                prompt_len = int(mask.sum())
                ids = row[len(mask) - prompt_len :].tolist()
                while ids and ids[-1] == pad:  # right padding after an early stop
                    ids.pop()
                answer = tokenizer.decode(ids[prompt_len:], skip_special_tokens=True)
                if avoid and ngrams(answer) & avoid:
                    dropped += 1
                    continue
                if tokenizer.eos_token_id is not None and ids[-1:] != [tokenizer.eos_token_id]:
                    ids.append(tokenizer.eos_token_id)
                out.append(ids)
    finally:
        tokenizer.padding_side = side
    return out, dropped


def merge_blocks(parts: list[Tensor]) -> Tensor:
    """Packed block tensors of the same width, one after the other (empty ones skipped)."""
    parts = [p for p in parts if p is not None and p.numel()]
    return torch.cat(parts) if parts else torch.empty(0, 0, dtype=torch.long)


def held_texts(corpus: str, ood_corpus: str | None) -> list[str]:
    """The texts a run is scored on (validation, test where there is one, out-of-domain)."""
    from liquidcare.data import document_text, load_corpus
    from liquidcare.data.load import CARE_SPECS

    splits = ["validation"] + (["test"] if corpus in CARE_SPECS else [])
    texts = [document_text(d) for split in splits for d in load_corpus(corpus, split)]
    if ood_corpus:
        texts += [document_text(d) for d in load_corpus(ood_corpus, "validation")]
    return texts


def more_teacher_blocks(config, model, tokenizer, show: bool = True) -> Tensor | None:
    """Packed blocks of the extra text a run's config asks for (``extra_corpora``,
    ``self_samples``), none of it sharing an 8-gram with what the run is scored on; None when
    the config asks for none. Call it with the base model, before surgery."""
    from liquidcare.data import CARE_SYSTEM_PROMPT, load_corpus, pack, tokenize_documents

    if not config.extra_corpora and not config.self_samples:
        return None
    avoid = avoid_ngrams(held_texts(config.corpus, config.ood_corpus))
    docs, dropped = extra_documents(list(config.extra_corpora), avoid)
    ids = tokenize_documents(docs, tokenizer, default_system=CARE_SYSTEM_PROMPT)
    n_extra = sum(map(len, ids))
    samples, s_dropped = [], 0
    if config.self_samples:
        samples, s_dropped = sample_from_base(model, tokenizer, load_corpus(config.corpus, "train"),
                                              config.self_samples, seed=config.seed,
                                              avoid=avoid)
    if show:
        print(f"teacher text: {len(docs)} extra documents ({n_extra} tokens; {dropped} dropped "
              f"for sharing an 8-gram with held-out text), {len(samples)} samples from the base "
              f"model ({sum(map(len, samples))} tokens; {s_dropped} dropped)", flush=True)
    return pack(ids + samples, config.block_size)
