"""`extract_text`: the entry point that turns any attachment into an `ExtractedText`.

It applies the checks every format shares (size limit, empty file, unreadable kind), hands
the bytes to the format's extractor, and turns whatever goes wrong into a result with a
reason, so one bad attachment never stops a run.
"""

from __future__ import annotations

from impacting.sources.documents.decoding import normalise_text
from impacting.sources.documents.detection import detect_format
from impacting.sources.documents.limits import (
    UNBOUNDED,
    ExtractionLimits,
    check_archive,
    out_of_memory,
    truncate_words,
    truncation_reason,
)
from impacting.sources.documents.registry import format_named, refusal
from impacting.sources.documents.result import (
    ExtractedText,
    Rejected,
    describe_error,
    not_ok,
)


def extract_text(content: bytes, file_name: str, mime_type: str | None = None,
                 max_bytes: int | None = None,
                 limits: ExtractionLimits = UNBOUNDED) -> ExtractedText:
    """Read a design document into clean text; never raises for bad content.

    The format is detected with `detect_format`. Over `max_bytes`, empty, unsupported,
    encrypted, text-less or would-be-huge-once-unpacked documents are "skipped"; corrupt ones
    are "failed"; in both cases `text` is "" and `reason` says what is wrong and how to fix
    it. A document over `limits.max_words` is kept "ok" but truncated, with the reason.
    (`limits`' time and memory bounds are applied by `worker.ExtractionWorker`, which runs this
    in a process of its own.)
    """
    content = bytes(content)
    name = detect_format(file_name, mime_type, content)
    if max_bytes is not None and len(content) > max_bytes:
        return not_ok(name, "skipped",
                      f"too large: {len(content):,} bytes is over the {max_bytes:,}-byte limit; "
                      "attach a smaller copy or split the document")
    if not content:
        return not_ok(name, "skipped",
                      "empty: the file is 0 bytes; attach the document again with its content")
    fmt = format_named(name)
    if fmt is None or fmt.extract is None:
        return not_ok(name, "skipped", refusal(name))
    try:
        if fmt.zip_members:
            check_archive(content, limits.max_uncompressed_bytes, fmt.label)
        extraction = fmt.extract(content)
    except Rejected as rejected:
        return not_ok(name, rejected.status, rejected.reason)
    except MemoryError:
        return not_ok(name, "skipped", out_of_memory(fmt.label))
    except Exception as error:  # any parser failure on bad input is the document's problem
        return not_ok(name, "failed",
                      f"corrupt {fmt.label} file: {describe_error(error)}; "
                      "re-save or re-export the file")
    text = normalise_text(extraction.text)
    text, kept, total = truncate_words(text, limits.max_words)
    words = len(text.split())
    if words == 0:
        return not_ok(name, "skipped",
                      f"empty: the {fmt.label} file contains no text; attach a version with content")
    reason = truncation_reason(kept, total) if kept < total else None
    return ExtractedText(text, name, "ok", reason, extraction.headings, words)
