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
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from impacting.sources.documents.limits import ExtractionLimits  # noqa: E402
from impacting.sources.documents.worker import ExtractionWorker  # noqa: E402
from impacting_tests.hostile import docx_bomb, pdf_bomb  # noqa: E402


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


def reader_peak_mib(worker: ExtractionWorker) -> float | None:
    """The reader process's own peak resident memory (VmHWM), read while it is still alive."""
    process = worker._process
    if process is None or process.poll() is not None:
        return None  # killed for overrunning: its peak died with it (it was under the ceiling)
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", action="store_true",
                        help="also chunk and embed the kept text of the 1,000,000-word document")
    parser.add_argument("--no-inflation-limit", action="store_true",
                        help="switch the unpacked-size check off, to see the memory ceiling and the "
                        "time limit stop the DOCX bomb instead (the second line of defence)")
    args = parser.parse_args()
    limits = ExtractionLimits()
    if args.no_inflation_limit:
        from dataclasses import replace

        limits = replace(limits, max_uncompressed_bytes=None)
    inflated = f"{limits.max_uncompressed_bytes:,} bytes" if limits.max_uncompressed_bytes else "unbounded"
    print(f"limits: inflated {inflated}, {limits.max_words:,} words, "
          f"{limits.timeout_seconds:g} s, memory {limits.max_memory_bytes // 2**20:,} MiB")
    documents = [
        ("docx-bomb-418MB.docx", docx_bomb(70_000, words=850)),
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
            peak = reader_peak_mib(worker)
        shown = f"{peak:7.0f} MiB" if peak is not None else "(killed)"
        print(f"{name:24} {len(content) / 2**20:8.1f} MiB  {result.status:8} "
              f"{result.word_count:>9,} words  {seconds:6.1f} s  reader peak {shown}  "
              f"{(result.reason or '')[:90]}")
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
