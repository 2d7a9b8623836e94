"""Session 10: ordinary care messages join the emergency classifier's fit and threshold choice
as `none` rows (`emergency_care`), even lines only, the hand-read possible emergencies left out;
the tuning rows are scored out of fold (`train_emergency.out_of_fold`)."""

import json

import numpy as np
import pytest

from liquidcare.safety.emergency_care import (
    DATA,
    NOT_ORDINARY,
    SOURCES,
    care_rows,
    question_rows,
    urgency_path,
)
from liquidcare.safety.errors import PolicyError
from liquidcare.safety.train_emergency import out_of_fold


def _source(tmp_path, rows, field="text"):
    path = tmp_path / "care.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return ((path, field),)


def test_the_halves_split_by_line_and_never_overlap(tmp_path):
    src = _source(tmp_path, [{"text": f"message {i}", "lang": "en"} for i in range(7)])
    even, odd = care_rows("even", src), care_rows("odd", src)
    assert [r["turns"] for r in even] == [["message 0"], ["message 2"], ["message 4"],
                                         ["message 6"]]
    assert [r["id"] for r in odd] == ["care.jsonl:1", "care.jsonl:3", "care.jsonl:5"]
    assert all(r["label"] == "none" for r in even + odd)


def test_turns_sources_keep_their_turns(tmp_path):
    src = _source(tmp_path, [{"turns": ["hello", "how do I help her shower?"], "lang": "es"}],
                  field="turns")
    (row,) = care_rows("even", src)
    assert row["turns"] == ["hello", "how do I help her shower?"] and row["lang"] == "es"


def test_a_row_without_its_message_is_a_clear_error(tmp_path):
    src = _source(tmp_path, [{"text": "fine"}, {"question": "wrong field"}])
    with pytest.raises(PolicyError, match=r"care\.jsonl:2 needs a non-empty 'text'"):
        care_rows("even", src)
    with pytest.raises(PolicyError, match="half must be"):
        care_rows("first", src)


def test_the_hand_read_possible_emergencies_are_left_out():
    names = {path.name for path, _ in SOURCES}
    assert NOT_ORDINARY and all(key.split(":")[0] in names for key in NOT_ORDINARY)
    kept = {r["id"] for half in ("even", "odd") for r in care_rows(half)}
    assert not kept & NOT_ORDINARY
    # the detector's care negatives include a missing person with dementia: not a negative
    assert "detector_care_negatives.jsonl:51" in NOT_ORDINARY


def test_every_hand_read_key_names_a_line_of_a_source_and_the_audit_agrees():
    # a key that points past the end of its file (or at a renamed file) drops nothing: the
    # emergency it was meant to hold back would be trained on as `none` again
    lines = {path.name: path.read_text(encoding="utf-8").splitlines() for path, _ in SOURCES
             if path.exists()}
    def names_a_line(key: str) -> bool:
        name, _, n = key.partition(":")
        return (name in lines and n.isdigit() and int(n) < len(lines[name])
                and bool(lines[name][int(n)].strip()))

    assert sorted(key for key in NOT_ORDINARY if not names_a_line(key)) == []
    audit = [json.loads(line) for line in
             (DATA / "care_audit.jsonl").read_text(encoding="utf-8").splitlines()]
    keys = [row["key"] for row in audit]
    assert len(keys) == len(set(keys)) and set(keys) == NOT_ORDINARY
    assert all(row["urgency"] in ("live", "urgent") and row["why"].strip() for row in audit)
    # the emergencies the lead named in replies_dev3 (hypo with confusion, stroke signs, sudden
    # confusion, spreading cellulitis with a temperature, fallen and unable to get up)
    assert {"replies_dev3.jsonl:23", "replies_dev3.jsonl:33", "replies_dev3.jsonl:24",
            "replies_dev3.jsonl:26", "replies_dev3.jsonl:52"} <= NOT_ORDINARY
    assert (DATA / "care_messages3.jsonl", "text") in SOURCES


def test_out_of_fold_scores_each_row_with_a_model_that_did_not_see_it():
    seen = []

    class Memo:
        classes_ = np.array([0, 2])

        def __init__(self, x):
            self.x = x

        def predict_proba(self, x):
            # 1 if a row was in the fit, else 0: out of fold, every score must be 0
            inside = np.array([[any((r == s).all() for s in self.x)] for r in x], float)
            return np.hstack([inside, 1 - inside])

    def fit(x, y):
        seen.append(len(x))
        return Memo(x)

    x = np.arange(20, dtype=float).reshape(10, 2)
    y = np.array([0, 2] * 5)
    p = out_of_fold(fit, x, y, 5)
    assert p.shape == (10,) and (p == 0).all()
    assert seen == [8] * 5


def test_question_files_become_none_rows_with_their_own_ids(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps({"id": "q-es-03", "lang": "es", "question": "¿cómo la ducho?"})
                    + "\n" + json.dumps({"lang": "en", "question": "tv too loud"}) + "\n",
                    encoding="utf-8")
    rows = question_rows(path)
    assert [r["id"] for r in rows] == ["q-es-03", "questions.jsonl:1"]
    assert [r["turns"] for r in rows] == [["¿cómo la ducho?"], ["tv too loud"]]
    assert {r["label"] for r in rows} == {"none"} and rows[0]["lang"] == "es"
    with pytest.raises(PolicyError, match="does not exist"):
        question_rows(tmp_path / "missing.jsonl")


def test_out_of_fold_hands_each_fit_the_weights_of_its_own_rows():
    got = []

    class Flat:
        classes_ = np.array([0, 2])

        def predict_proba(self, x):
            return np.full((len(x), 2), 0.5)

    def fit(x, y, w=None):
        got.append((x[:, 0].tolist(), w.tolist()))
        return Flat()

    x = np.arange(20, dtype=float).reshape(10, 2)
    y = np.array([0, 2] * 5)
    weight = x[:, 0] / 2 + 1  # row i weighs i + 1: each fit must see exactly its rows' weights
    out_of_fold(fit, x, y, 5, weight)
    assert len(got) == 5
    assert all(w == [r / 2 + 1 for r in rows] for rows, w in got)


def test_the_care_weight_must_be_positive():
    from liquidcare.safety.train_emergency import main

    with pytest.raises(PolicyError, match="care-weight must be positive"):
        main(["--care-weight", "0"])


def _questions(tmp_path, ids):
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps({"id": i, "lang": "en", "question": f"q {i}"}) + "\n"
                            for i in ids), encoding="utf-8")
    return path


def _labels(path, pairs):
    path.write_text("".join(json.dumps({"id": i, "urgency": u}) + "\n" for i, u in pairs),
                    encoding="utf-8")


def test_urgency_labels_turn_live_questions_into_emergencies(tmp_path):
    path = _questions(tmp_path, ["a", "b", "c"])
    assert urgency_path(path) == tmp_path / "urgency.jsonl"
    assert urgency_path(tmp_path / "replies_dev3.jsonl") == tmp_path / "replies_dev3_urgency.jsonl"
    assert {r["kind"] for r in question_rows(path)} == {"care"}  # no labels: all everyday
    _labels(urgency_path(path), [("a", "live"), ("b", "urgent"), ("c", "ordinary")])
    rows = question_rows(path)
    assert [(r["label"], r["kind"]) for r in rows] == [
        ("emergency", "live"), ("none", "urgent"), ("none", "care")]


def test_urgency_labels_must_match_the_questions(tmp_path):
    path = _questions(tmp_path, ["a", "b"])
    _labels(urgency_path(path), [("b", "live"), ("a", "ordinary")])
    with pytest.raises(PolicyError, match="not in questions.jsonl's order"):
        question_rows(path)
    _labels(urgency_path(path), [("a", "live")])
    with pytest.raises(PolicyError, match=r"unlabelled \['b'\]"):
        question_rows(path)
    _labels(urgency_path(path), [("a", "live"), ("b", "soon")])
    with pytest.raises(PolicyError, match="urgency must be one of"):
        question_rows(path)


def test_the_shipped_dev_urgency_labels_load():
    from liquidcare.safety.emergency_care import BENCH

    rows = question_rows(BENCH / "replies_dev3.jsonl")
    kinds = [r["kind"] for r in rows]
    assert kinds.count("live") >= 4 and kinds.count("urgent") >= 4
    # a live or urgent question is never a negative in the classifier's fit
    fit = {r["id"] for r in care_rows("even") + care_rows("odd")}
    flagged = {f"replies_dev3.jsonl:{n}" for n, r in enumerate(rows) if r["kind"] != "care"}
    assert flagged <= NOT_ORDINARY and not flagged & fit
