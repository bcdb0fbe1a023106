from impacting.language.chunking import (
    CODE,
    COMMENT,
    HEADING,
    SENTENCE,
    TABLE,
    TOC,
    chunk_document,
    split_sentences,
)

DOC = """# Pod Overhead

## Table of Contents

<!-- toc -->
- [Summary](#summary)
<!-- /toc -->

## Summary

<!--
This section is for the template: describe the KEP.
-->

Pods have some resource overhead. See the [design](https://example.com/x) e.g. for the
sandbox; it is **accounted** for by the `RuntimeClass`. Second sentence here!

- [x] Support overhead in the scheduler

```yaml
overhead: 120Mi
# not a heading
```

| Field | Value |
|---|---|
| a | b |

### Goals
Accurate scheduling.
"""


def test_every_block_is_kept_with_its_kind_and_section():
    chunks = chunk_document("D1", DOC)
    kinds = [c.kind for c in chunks]
    assert kinds == [HEADING, HEADING, COMMENT, TOC, COMMENT, HEADING, COMMENT, SENTENCE, SENTENCE,
                     SENTENCE, SENTENCE, CODE, TABLE, HEADING, SENTENCE]
    assert [c.index for c in chunks] == list(range(len(chunks)))
    sentences = [c for c in chunks if c.kind == SENTENCE]
    assert [s.text for s in sentences[:4]] == [
        "Pods have some resource overhead.",
        "See the design e.g. for the sandbox; it is accounted for by the RuntimeClass.",
        "Second sentence here!",
        "Support overhead in the scheduler",
    ]
    assert sentences[0].section == ("Pod Overhead", "Summary")
    assert chunks[-1].section == ("Pod Overhead", "Summary", "Goals")
    assert "# not a heading" in next(c for c in chunks if c.kind == CODE).text
    assert chunks[0].chunk_id == "D1:0" and len(chunks[0].sha256) == 64


def test_sentences_respect_abbreviations_and_cut_long_ones():
    assert split_sentences("Use e.g. a pod. Then i.e. b works. Done.") == [
        "Use e.g. a pod.", "Then i.e. b works.", "Done."]
    assert split_sentences("Version 1.2 is out. It works.") == ["Version 1.2 is out.", "It works."]
    long = " ".join(["word"] * 250)
    assert [len(s.split()) for s in split_sentences(long)] == [100, 100, 50]
