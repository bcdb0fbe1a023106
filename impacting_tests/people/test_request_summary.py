"""A request's own summaries: description and documents read as one text, main document first."""

import numpy as np

from impacting.language.analysis import EXECUTIVE, STANDARD, LanguageConfig
from impacting.language.chunking import SENTENCE, Chunk
from impacting.language.request_summary import Part, reading_order, split_parts, summarise_request
from impacting.language.summarise import Degree, extractive_summary

CONFIG = LanguageConfig.from_settings(executive_words=25, summary_ratio=0.5)


def _part(part_id: str, sentences: int, seed: int) -> Part:
    rng = np.random.default_rng(seed)
    chunks = tuple(Chunk(part_id, i, SENTENCE, ("Title", f"Section {i // 3}"),
                         f"Sentence {i} of {part_id} has exactly ten words in it.", f"{part_id}:{i}")
                   for i in range(sentences))
    vectors = rng.normal(size=(sentences, 8)).astype(np.float32)
    return Part(part_id, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


def test_the_main_design_document_comes_first_then_the_description_then_the_rest():
    description, small, main = _part("K/description", 2, 0), _part("doc-a", 3, 1), _part("doc-b", 9, 2)
    empty = Part("doc-c", (), np.zeros((0, 8), np.float32))
    order = reading_order([description, small, main, empty], "K/description")
    assert [p.part_id for p in order] == ["doc-b", "K/description", "doc-a"]
    assert [p.part_id for p in reading_order([description], "K/description")] == ["K/description"]


def test_parts_are_split_by_document_in_the_order_triage_reads_them():
    a, b = _part("K/description", 2, 0), _part("doc", 3, 1)
    parts = split_parts([*a.passages, *b.passages], np.vstack([a.vectors, b.vectors]))
    assert [(p.part_id, len(p.passages)) for p in parts] == [("K/description", 2), ("doc", 3)]
    assert np.array_equal(parts[1].vectors, b.vectors)


def test_one_part_gives_exactly_that_documents_own_summary():
    part = _part("doc", 12, 3)
    result = summarise_request([part], CONFIG)
    alone = extractive_summary(list(part.passages), part.vectors, CONFIG.executive)
    assert result.summaries[EXECUTIVE].text == alone.text
    assert result.sentences[EXECUTIVE] == tuple(f"doc:{i}" for i in alone.chunk_indexes)


def test_several_parts_make_one_summary_of_the_request_at_each_length():
    parts = [_part("doc-b", 9, 2), _part("K/description", 2, 0), _part("doc-a", 3, 1)]
    result = summarise_request(parts, CONFIG, standard=Degree(words=40))
    assert result.parts == ("doc-b", "K/description", "doc-a") and result.words == 140
    executive, standard = result.summaries[EXECUTIVE], result.summaries[STANDARD]
    assert 20 <= executive.words <= 40 and 35 <= standard.words <= 60
    assert standard.degree == "40 words"
    chosen = result.sentences[STANDARD]
    assert chosen and all(s.split(":")[0] in result.parts for s in chosen)
    # In reading order: the main document's sentences before the others'.
    ranks = [result.parts.index(s.split(":")[0]) for s in chosen]
    assert ranks == sorted(ranks)
    texts = {f"{c.document_id}:{c.index}": c.text for p in parts for c in p.passages}
    assert standard.text == " ".join(texts[s] for s in chosen)


def test_a_request_without_prose_has_empty_summaries():
    result = summarise_request([], CONFIG)
    assert result.summaries[EXECUTIVE].text == "" and result.summaries[STANDARD].text == ""
    assert result.words == 0 and result.sentences[EXECUTIVE] == ()
