"""What the red-team harness talks to: an OpenAI-compatible endpoint or an in-process model.

Both answer `generate(conversations)` with one reply per conversation. Replies are cached per
conversation, so running the suite with the guard on and off costs one generation per distinct
conversation: with the guard on, most attacks are stopped before the model, and the rest ask the
model exactly what the unguarded run already asked.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .errors import RedTeamError


def chat_url(url: str) -> str:
    """The chat-completions URL of an OpenAI-compatible server given its base or full URL."""
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if url.endswith("/v1"):
        return url + "/chat/completions"
    return url + "/v1/chat/completions"


class Target:
    name: str = "target"

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}
        self.seconds: list[float] = []  # generation time per reply actually generated
        self.autosave: Path | None = None  # save the replies here after every generation

    def _generate(self, conversations: list[list[dict]]) -> list[str]:
        raise NotImplementedError

    def generate(self, conversations: list[list[dict]]) -> list[str]:
        keys = [json.dumps(c, ensure_ascii=False, sort_keys=True) for c in conversations]
        todo = [i for i, k in enumerate(keys) if k not in self._cache]
        todo = [i for n, i in enumerate(todo) if keys[i] not in {keys[j] for j in todo[:n]}]
        if todo:
            start = time.perf_counter()
            replies = self._generate([conversations[i] for i in todo])
            per = (time.perf_counter() - start) / len(todo)
            for i, reply in zip(todo, replies, strict=True):
                self._cache[keys[i]] = reply
                self.seconds.append(per)
            if self.autosave is not None:
                self.save_replies(self.autosave)
        return [self._cache[k] for k in keys]

    def save_replies(self, path: str | Path) -> None:
        """Writes the reply cache (conversation -> reply), so a later run with another policy
        only generates the conversations it has not seen."""
        from liquidcare.atomic import write_text

        # Atomic: a run stopped mid-save keeps the previous file whole.
        write_text(path, json.dumps(self._cache, ensure_ascii=False))

    def load_replies(self, path: str | Path) -> int:
        if not Path(path).exists():
            return 0
        self._cache.update(json.loads(Path(path).read_text()))
        return len(self._cache)

    def close(self) -> None:
        pass


class HTTPTarget(Target):
    """Plain OpenAI chat completions over httpx (temperature 0, short replies)."""

    def __init__(self, url: str, api_key: str | None = None, model_name: str = "default",
                 max_tokens: int = 128, timeout: float = 120.0) -> None:
        import httpx

        super().__init__()
        self.url = chat_url(url)
        self.name = url if model_name == "default" else f"{model_name}@{url}"
        self.model_name = model_name
        self.max_tokens = max_tokens
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=timeout, headers=headers)

    def _one(self, messages: list[dict]) -> str:
        import httpx

        body = {"model": self.model_name, "messages": messages, "temperature": 0,
                "max_tokens": self.max_tokens}
        try:
            r = self.client.post(self.url, json=body)
        except httpx.HTTPError as err:
            raise RedTeamError(f"cannot reach {self.url}: {err}") from None
        if r.status_code == 401:
            raise RedTeamError(f"{self.url} answered 401 Unauthorized: pass --api-key")
        if r.status_code >= 400:
            raise RedTeamError(f"{self.url} answered {r.status_code}: {r.text[:200]}")
        try:
            content: Any = r.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise RedTeamError(f"{self.url} did not answer with an OpenAI chat completion: "
                               f"{r.text[:200]}") from None
        return content or ""

    def _generate(self, conversations: list[list[dict]]) -> list[str]:
        return [self._one(c) for c in conversations]

    def close(self) -> None:
        self.client.close()


class LocalTarget(Target):
    """A model generating in this process: greedy, chat template, left-padded batches."""

    def __init__(self, model: str | None = None, device: str = "cpu", max_new_tokens: int = 48,
                 batch_size: int = 8, loaded: tuple[Any, Any] | None = None,
                 name: str | None = None) -> None:
        super().__init__()
        if loaded is None:
            from liquidcare.surgery import load_model, model_version

            if model is None:
                raise RedTeamError("LocalTarget needs a model name or a loaded (model, tokenizer)")
            loaded = load_model(model, device=device)
            name = name or model_version(model)
        self.model, self.tokenizer = loaded
        self.model.eval()
        self.name = name or str(model)
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"

    def _prompt(self, messages: list[dict]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                      tokenize=False)
        return "\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant:"

    def _generate(self, conversations: list[list[dict]]) -> list[str]:
        import torch

        device = next(self.model.parameters()).device
        replies = []
        # Similar lengths together: less padding per batch.
        order = sorted(range(len(conversations)), key=lambda i: len(str(conversations[i])))
        out: dict[int, str] = {}
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            prompts = [self._prompt(conversations[i]) for i in batch]
            enc = self.tokenizer(prompts, return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(device)
            with torch.no_grad():
                ids = self.model.generate(**enc, max_new_tokens=self.max_new_tokens,
                                          do_sample=False,
                                          pad_token_id=self.tokenizer.pad_token_id)
            for i, row in zip(batch, ids[:, enc["input_ids"].shape[1]:], strict=True):
                out[i] = self.tokenizer.decode(row, skip_special_tokens=True).strip()
        replies = [out[i] for i in range(len(conversations))]
        return replies
