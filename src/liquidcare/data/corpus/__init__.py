"""The bundled care corpus: the JSONL files, their datasheet, and the generator that wrote them."""
