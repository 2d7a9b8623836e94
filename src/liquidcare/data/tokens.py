"""Documents to token ids: conversations through the chat template, text as is, eos after each."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from liquidcare.data.records import Document


def _ids(encoded: Any) -> list[int]:
    # transformers 5 returns a BatchEncoding from apply_chat_template unless return_dict=False;
    # accept both so an older or custom tokenizer works too.
    if isinstance(encoded, dict) or hasattr(encoded, "input_ids"):
        encoded = encoded["input_ids"]
    return [int(i) for i in encoded]


def dialogue_ids(messages: list[dict[str, str]], tokenizer: Any) -> list[int]:
    """A conversation exactly as the model will see it when chatting (its chat template).

    A tokenizer without a chat template (a base model) gets plain "role: content" lines, which
    base models continue sensibly and which keep who-said-what visible.
    """
    if getattr(tokenizer, "chat_template", None):
        return _ids(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False))
    text = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
    return _ids(tokenizer(text)["input_ids"])


def _ends_with_eos(ids: list[int], eos: int, tokenizer: Any) -> bool:
    """Whether ids already end with eos, or with eos and then only whitespace: ChatML templates
    (SmolLM2, Qwen) close every turn with "<|im_end|>\n", and a second eos there would teach the
    model to repeat its stop token."""
    if eos not in ids[-4:]:
        return False
    tail = ids[len(ids) - ids[::-1].index(eos):]
    return not tail or not tokenizer.decode(tail).strip()


def with_system(messages: list[dict[str, str]], system: str | None) -> list[dict[str, str]]:
    """The conversation with ``system`` as its first turn when it has no system turn of its own.

    Chat templates fill a missing system turn with the model maker's default (SmolLM2's names
    the assistant "SmolLM"); training on that would teach a care model someone else's identity.
    """
    if system is None or (messages and messages[0]["role"] == "system"):
        return messages
    return [{"role": "system", "content": system}, *messages]


def tokenize_documents(docs: Iterable[Document | str], tokenizer: Any, add_eos: bool = True,
                       max_tokens: int | None = None,
                       default_system: str | dict[str, str] | None = None) -> list[list[int]]:
    """Token ids of each document, in order.

    A document with `messages` goes through the chat template; one with `text` (or a plain
    string) through the tokenizer. With add_eos, each document ends with the eos token (added
    unless it is already last, or last but for whitespace), so packed documents stay separated.
    max_tokens stops after the document that reaches that many tokens in total (a cheap cap on
    large corpora; the last document is kept whole). default_system (one prompt, or one per
    document ``lang``) becomes the system turn of dialogues that have none.
    """
    eos = getattr(tokenizer, "eos_token_id", None)
    if add_eos and eos is None:
        raise ValueError("add_eos=True but the tokenizer has no eos token; set "
                         "tokenizer.eos_token or pass add_eos=False")
    out: list[list[int]] = []
    total = 0
    for doc in docs:
        if isinstance(doc, str):
            ids = _ids(tokenizer(doc)["input_ids"])
        elif "messages" in doc:
            system = default_system
            if isinstance(system, dict):
                system = system.get(doc.get("lang", ""), system.get("en"))
            ids = dialogue_ids(with_system(doc["messages"], system), tokenizer)
        else:
            ids = _ids(tokenizer(doc["text"])["input_ids"])
        if add_eos and not _ends_with_eos(ids, eos, tokenizer):
            ids.append(int(eos))
        out.append(ids)
        total += len(ids)
        if max_tokens is not None and total >= max_tokens:
            break
    return out
