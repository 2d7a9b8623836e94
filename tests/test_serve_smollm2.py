"""The server on the embedded SmolLM2 (slow: loads the 135M model once per session)."""

from __future__ import annotations

import pytest
from serve_helpers import LiveServer

from liquidcare.serve.app import create_app
from liquidcare.serve.engine import Engine


@pytest.mark.slow
def test_smollm2_answers_a_twins_carer_through_the_openai_client(embedded_smollm2, tmp_path):
    from openai import OpenAI

    from liquidcare.feedback import open_store

    model, tokenizer = embedded_smollm2
    store = open_store(str(tmp_path / "care.db"))
    carer, key = store.add_user("Ana", role="carer")
    twin = store.create_twin({"name": "Margaret", "age": 82, "language": "en",
                              "conditions": ["type 2 diabetes"]}, by=carer)
    engine = Engine(model, tokenizer, "smollm2")
    server = LiveServer(create_app(engine, store, default_max_tokens=24)).start()
    try:
        client = OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
        stream = client.chat.completions.create(
            model="smollm2", user=str(twin.id), stream=True, messages=[
                {"role": "user", "content": "How can I help my mother drink more water?"}])
        pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    finally:
        server.stop()
        engine.close()
    reply = "".join(pieces)
    assert len([p for p in pieces if p]) > 3
    assert len(reply.split()) >= 5
    (conv,) = store.list_conversations(by=carer)
    stored = store.get_conversation(conv.id, by=carer).messages
    assert stored[-1].content == reply and stored[-1].model_version == "smollm2"
