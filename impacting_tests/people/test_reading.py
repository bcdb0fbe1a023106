"""Which sections a team should read, and the passages quoted for it, from per-passage support."""

import numpy as np

from impacting.language.chunking import SENTENCE, Chunk
from impacting.people.reading import (
    COVER,
    DESCRIPTION,
    MAX_SECTIONS,
    OPENING,
    section_labels,
    team_evidence,
)
from impacting.triage.predict import supporting_passages


def _chunk(document: str, index: int, section: tuple[str, ...], text: str) -> Chunk:
    return Chunk(document, index, SENTENCE, section, text, f"{document}:{index}:{text}")


def _document() -> list[Chunk]:
    """A design document under one title heading: five sections of four ten-word sentences."""
    chunks = []
    for title in ["Summary", "Motivation", "Design Details", "Test Plan", "Rollout"]:
        for k in range(4):
            chunks.append(_chunk("doc", len(chunks), ("KEP-1: Volume topology", title),
                                 f"Sentence {k} of {title} says ten words about it here."))
    return chunks


def test_the_sections_holding_the_passages_that_drive_the_score_are_the_ones_to_read():
    passages = _document()
    support = np.zeros(len(passages))
    support[8:12] = 3.0      # Design Details
    support[13] = 2.0        # one sentence of Test Plan
    evidence = team_evidence(passages, support, {"doc": "design.md"})
    # Design Details holds 9.2 of the 10.5 excess support: enough on its own.
    assert [(s.document, s.section) for s in evidence.sections] == [("design.md", "Design Details")]
    words = [c.words for c in passages]
    assert evidence.sections[0].words == sum(words[8:12])
    assert evidence.request_words == sum(words) and evidence.share == sum(words[8:12]) / sum(words)
    # The quotes are the passages the team's reason quotes.
    assert [q.text for q in evidence.quotes] == [
        passages[k].text for k in supporting_passages(passages, support)]
    assert all(q.document == "design.md" and q.section == "Design Details" for q in evidence.quotes)


def test_at_most_three_sections_and_only_until_they_hold_enough_of_the_support():
    passages = _document()
    support = np.repeat([5.0, 4.0, 3.0, 2.0, 1.0], 4)   # every section above the lowest one
    evidence = team_evidence(passages, support, {"doc": "design.md"})
    assert 1 <= len(evidence.sections) <= MAX_SECTIONS
    excess = np.maximum(support - support.mean(), 0)
    held = sum(excess[[i for i, c in enumerate(passages) if c.section[-1] == s.section]].sum()
               for s in evidence.sections)
    assert held >= COVER * excess.sum()
    # Document order, whatever the ranking.
    order = ["Summary", "Motivation", "Design Details", "Test Plan", "Rollout"]
    assert [s.section for s in evidence.sections] == sorted((s.section for s in evidence.sections),
                                                            key=order.index)


def test_template_sentences_never_count_and_flat_support_names_no_section():
    passages = _document()
    support = np.zeros(len(passages))
    support[0] = 9.0
    template = frozenset({passages[0].sha256})
    evidence = team_evidence(passages, support, {"doc": "design.md"}, template=template)
    assert evidence.sections == () and passages[0].text not in [q.text for q in evidence.quotes]
    assert team_evidence(passages, np.ones(len(passages)), {"doc": "design.md"}).sections == ()


def test_labels_drop_the_title_and_name_text_before_the_first_heading():
    passages = [_chunk("KEY/description", 0, (), "A description without any heading at all."),
                _chunk("doc", 1, (), "Text that comes before the first heading of it."),
                _chunk("doc", 2, ("Title", "Goals"), "A sentence under the goals of the design.")]
    assert section_labels(passages, {"KEY/description": DESCRIPTION, "doc": "d.md"}) == [
        "", OPENING, "Title › Goals"]
    single = [_chunk("doc", 0, ("Title", "Goals"), "x y z"), _chunk("doc", 1, ("Title", "Non-Goals", "More"),
                                                                 "x y z")]
    assert section_labels(single) == ["Goals", "Non-Goals › More"]
