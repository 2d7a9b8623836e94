"""What a training run shows and records besides its numbers: a clock per phase, the
TensorBoard writer (optional), and greedy sample replies to the care prompts."""

from __future__ import annotations

import time
from pathlib import Path

import torch


@torch.no_grad()
def sample_replies(model, tokenizer, prompts: list[tuple[str, str]], new_tokens: int) -> list[str]:
    from liquidcare.data import CARE_SYSTEM_PROMPT

    device = next(model.parameters()).device
    outs = []
    for lang, prompt in prompts:
        messages = [{"role": "system", "content": CARE_SYSTEM_PROMPT[lang]},
                    {"role": "user", "content": prompt}]
        enc = tokenizer.apply_chat_template(messages,
                                            add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True)
        enc = {k: v.to(device) for k, v in enc.items()}
        out = model.generate(**enc, max_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
        outs.append(tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True))
    return outs


def tensorboard_writer(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard not installed: the report still has every number
        return None
    return SummaryWriter(str(run_dir / "tb"))


class PhaseClock:
    """Wall-clock time of each phase, printed by the main process."""

    def __init__(self, name: str, show: bool):
        self.name, self.show = name, show
        self.timings: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] = now - self.last
        self.last = now
        if self.show:
            print(f"[{self.name}] {phase}: {self.timings[phase]:.1f} s", flush=True)
