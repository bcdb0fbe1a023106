"""How much a hostile document costs: time and peak memory of reading it under the default limits.

    .venv/bin/python benchmarks/hostile_documents.py [--language]

Builds, in memory, the documents issue 14 describes and reads each the way the nightly run does
(a worker process with the configured memory ceiling and time limit, `ExtractionWorker`):

- a DOCX of 1 MB that inflates to ~418 MB of XML (70,000 paragraphs of ~6,000 characters);
- a Markdown document of 1,000,000 words;
- a PDF whose content stream inflates to 300 MB;
- an ordinary 25,000-word design document, for comparison.

Prints one line per document (status, words kept, seconds, the reader's peak RSS) and the
pipeline process's own peak RSS. With `--language`, the kept text of the 1,000,000-word
document is also chunked and embedded (the bundled model, offline), as the nightly run would.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from impacting.sources.documents.limits import ExtractionLimits  # noqa: E402
from impacting.sources.documents.worker import ExtractionWorker  # noqa: E402
from impacting_tests.hostile import pdf_bomb  # noqa: E402


def big_docx(paragraphs: int, words_per_paragraph: int) -> bytes:
    words = " ".join(f"word{i % 97}" for i in range(words_per_paragraph))
    body = "".join(f"<w:p><w:r><w:t>{words}</w:t></w:r></w:p>" for _ in range(paragraphs))
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w='
                '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                f"{body}</w:body></w:document>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.'
                         'openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("word/document.xml", document)
    return out.getvalue()


def words_markdown(words: int) -> bytes:
    """A Markdown design of about `words` words, every sentence different (as in a real one, so
    the embedding cache cannot make it cheap)."""
    per_sentence, per_section = 12, 20
    sections = []
    for i in range(words // (per_sentence * per_section) + 1):
        sentences = " ".join(f"Step {i}.{j}: the controller reconciles the desired state of volume "
                             f"{i * per_section + j} in zone {j % 7}." for j in range(per_section))
        sections.append(f"## Section {i}\n\n{sentences}")
    return ("# A very long design\n\n" + "\n\n".join(sections)).encode()


def peak_children_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", action="store_true",
                        help="also chunk and embed the kept text of the 1,000,000-word document")
    args = parser.parse_args()
    limits = ExtractionLimits()
    print(f"limits: inflated {limits.max_uncompressed_bytes:,} bytes, {limits.max_words:,} words, "
          f"{limits.timeout_seconds:g} s, memory {limits.max_memory_bytes // 2**20:,} MiB")
    documents = [
        ("docx-bomb-418MB.docx", big_docx(70_000, 850)),
        ("one-million-words.md", words_markdown(1_000_000)),
        ("pdf-bomb-300MB.pdf", pdf_bomb(300_000_000)),
        ("ordinary-25k-words.md", words_markdown(25_000)),
    ]
    kept = None
    for name, content in documents:
        # A fresh reader per document, so each peak is that document's own.
        with ExtractionWorker(limits) as worker:
            started = time.perf_counter()
            result = worker.extract(content, name)
            seconds = time.perf_counter() - started
        print(f"{name:24} {len(content) / 2**20:8.1f} MiB  {result.status:8} "
              f"{result.word_count:>9,} words  {seconds:6.1f} s  reader peak so far "
              f"{peak_children_mib():7.0f} MiB  {(result.reason or '')[:90]}")
        if name.startswith("one-million"):
            kept = result.text
    print(f"pipeline process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.language and kept:
        import duckdb

        from impacting.language.chunking import chunk_document
        from impacting.language.encoder import EmbeddingCache, shared_encoder
        from impacting.language.vectors import embed_chunks, prose_chunks

        started = time.perf_counter()
        chunks = chunk_document("one-million-words", kept)
        prose = prose_chunks(chunks)
        with duckdb.connect(":memory:") as con:
            embed_chunks(EmbeddingCache(con, shared_encoder()), prose)
        print(f"language stage on the kept {len(kept.split()):,} words: {len(prose):,} sentences in "
              f"{time.perf_counter() - started:.1f} s; pipeline peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
