"""Tiny random causal LMs of each architecture family we liquify (width 32, 2 layers)."""

from __future__ import annotations

from pathlib import Path

import torch
import transformers as tf
from tokenizers import Tokenizer, pre_tokenizers
from tokenizers.models import WordLevel

VOCAB = 96

_CONFIGS = {
    "gpt2": lambda: tf.GPT2Config(
        vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=128,
        bos_token_id=1, eos_token_id=2,
    ),
    "llama": lambda: tf.LlamaConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
    ),
    "mistral": lambda: tf.MistralConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
    ),
    "qwen2": lambda: tf.Qwen2Config(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
    ),
    "phi3": lambda: tf.Phi3Config(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128,
        pad_token_id=0,
    ),
    "phi": lambda: tf.PhiConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=128,
    ),
}
ARCHS = tuple(_CONFIGS)


def tiny_model(arch: str = "llama", seed: int = 0) -> tf.PreTrainedModel:
    torch.manual_seed(seed)
    model = tf.AutoModelForCausalLM.from_config(_CONFIGS[arch]())
    model.config.liquidcare_base = f"tiny-{arch}"
    return model.eval()


def padded_prompts(lengths=(7, 4, 6), seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded prompts of different lengths: (input_ids, attention_mask)."""
    g = torch.Generator().manual_seed(seed)
    T = max(lengths)
    ids = torch.zeros(len(lengths), T, dtype=torch.long)
    mask = torch.zeros(len(lengths), T, dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, T - n :] = torch.randint(3, VOCAB, (n,), generator=g)
        mask[row, T - n :] = 1
    return ids, mask


def greedy(model, ids, mask, new_tokens: int = 6, **kwargs) -> torch.Tensor:
    return generate_with_logits(model, ids, mask, new_tokens, **kwargs)[0]


def generate_with_logits(model, ids, mask, new_tokens: int = 6, **kwargs):
    """Greedy tokens (batch, new) and the logits that chose them (batch, new, vocab)."""
    out = model.generate(
        input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
        do_sample=False, pad_token_id=0, output_logits=True, return_dict_in_generate=True,
        **kwargs,
    )
    return out.sequences[:, ids.shape[1]:], torch.stack(out.logits, dim=1)


def tiny_tokenizer() -> tf.PreTrainedTokenizerFast:
    """A word-level tokenizer built offline ("w0".."w92"), with eos but no pad token (like many
    base models) and a minimal chat template."""
    words = ["<unk>", "<s>", "</s>"] + [f"w{i}" for i in range(VOCAB - 3)]
    backend = Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = tf.PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }} {% endfor %}"
    return tokenizer


def save_tiny(folder: Path, arch: str = "llama") -> Path:
    """A tiny model and its tokenizer saved as a Hugging Face model folder."""
    model = tiny_model(arch)
    del model.config.liquidcare_base  # a folder on disk is named by its path, as load_base does
    model.save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return folder
