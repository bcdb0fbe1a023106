"""Split a document's text into ordered chunks: sentences with their section, and the rest.

The text is what `sources.documents` produces: Markdown-style, headings as `#` lines. Every
part of the document becomes a chunk, so nothing is lost, but only `sentence` chunks are prose
worth reading or embedding; template comments, tables of contents, code blocks and tables keep
their own kinds so later stages can skip them.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass

# Chunk kinds. Only SENTENCE is prose; the others are kept but not summarised or embedded.
SENTENCE = "sentence"
HEADING = "heading"
CODE = "code"
COMMENT = "comment"
TOC = "toc"
TABLE = "table"
KINDS = (SENTENCE, HEADING, CODE, COMMENT, TOC, TABLE)

# The model reads at most 256 word pieces (~150 words); longer sentences are cut below that.
MAX_SENTENCE_WORDS = 100
# A sentence is cut at this many characters: 100 words of prose are well under it, so it only
# bites on data posing as text (base64, a minified line), and a 10 MB line without spaces can
# never become a 10 MB sentence for the model.
MAX_SENTENCE_CHARS = 5000

ABBREVIATIONS = frozenset({
    "e.g", "i.e", "etc", "vs", "cf", "al", "approx", "fig", "no", "mr", "mrs", "ms", "dr",
    "st", "inc", "ltd", "jr", "sr", "resp", "incl", "min", "max", "ca", "eg", "ie",
})

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]?\]\s*)?")
_TABLE_ROW = re.compile(r"^\s*\|")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^()\s]|\([^()]*\))*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_URL = re.compile(r"<?https?://[^\s>)]+>?")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
_INLINE_CODE = re.compile(r"`([^`]*)`")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9`*_])")


@dataclass(frozen=True)
class Chunk:
    document_id: str
    index: int                   # position in the document, from 0
    kind: str                    # one of KINDS
    section: tuple[str, ...]     # heading path above it, outermost first
    text: str                    # display text: links reduced to their words, markup removed
    sha256: str                  # of `text`; the embedding cache key with the model

    @property
    def chunk_id(self) -> str:
        return f"{self.document_id}:{self.index}"

    @property
    def words(self) -> int:
        return len(self.text.split())


def chunk_document(document_id: str, text: str) -> list[Chunk]:
    """All chunks of `text`, in document order."""
    chunks: list[Chunk] = []

    def add(kind: str, section: tuple[str, ...], body: str) -> None:
        body = body.strip()
        if body:
            chunks.append(Chunk(document_id, len(chunks), kind, section,
                                body, hashlib.sha256(body.encode("utf-8")).hexdigest()))

    for kind, section, body in _blocks(text):
        if kind == SENTENCE:
            for sentence in split_sentences(clean_inline(body)):
                add(SENTENCE, section, sentence)
        elif kind == HEADING:
            add(HEADING, section, clean_inline(body))
        else:
            add(kind, section, body)
    return chunks


def _blocks(text: str):
    """(kind, section path, raw text) for each block: paragraph, list item, heading, ..."""
    lines = text.replace("\r\n", "\n").split("\n")
    path: list[tuple[int, str]] = []
    in_toc_section = False
    paragraph: list[str] = []
    i = 0

    def section() -> tuple[str, ...]:
        return tuple(title for _, title in path)

    def flush():
        if paragraph:
            body = " ".join(part.strip() for part in paragraph)
            paragraph.clear()
            return [(TOC if in_toc_section else SENTENCE, section(), body)]
        return []

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if _FENCE.match(line):
            yield from flush()
            fence = _FENCE.match(line).group(1)
            block = [line]
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                block.append(lines[i])
                i += 1
            block.append(lines[i] if i < len(lines) else "")
            yield CODE, section(), "\n".join(block)
            i += 1
            continue
        if stripped.startswith("<!--"):
            yield from flush()
            block = [line]
            while "-->" not in lines[i] and i + 1 < len(lines):
                i += 1
                block.append(lines[i])
            marker = stripped.lower().replace(" ", "")
            if marker.startswith("<!--toc-->"):
                in_toc_section = True
            elif marker.startswith("<!--/toc-->"):
                in_toc_section = False
            yield COMMENT, section(), "\n".join(block)
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            yield from flush()
            level, title = len(heading.group(1)), heading.group(2).strip()
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, clean_inline(title)))
            in_toc_section = _is_toc_title(title)
            yield HEADING, section(), title
            i += 1
            continue
        if _TABLE_ROW.match(line):
            yield from flush()
            block = []
            while i < len(lines) and _TABLE_ROW.match(lines[i]):
                block.append(lines[i])
                i += 1
            yield TABLE, section(), "\n".join(block)
            continue
        if not stripped:
            yield from flush()
        elif _LIST_ITEM.match(line):
            yield from flush()
            paragraph.append(_LIST_ITEM.sub("", line, count=1))
        else:
            paragraph.append(line)
        i += 1
    yield from flush()


def _is_toc_title(title: str) -> bool:
    return title.strip().lower().rstrip(":") in {"table of contents", "contents", "toc"}


def clean_inline(text: str) -> str:
    """Markdown inline markup reduced to readable words."""
    text = _MD_LINK.sub(lambda m: m.group(1), text)
    text = _REF_LINK.sub(lambda m: m.group(1), text)
    text = _URL.sub("", text)
    text = _HTML_TAG.sub("", text)
    text = _INLINE_CODE.sub(lambda m: m.group(1), text)
    text = _EMPHASIS.sub(lambda m: m.group(2), text)
    # Converters and Markdown authors leave entities such as `Pod&#39;s`; readers want `Pod's`.
    text = html.unescape(text)
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph; abbreviations do not end one; very long ones are cut."""
    sentences, start = [], 0
    for match in _SENTENCE_BREAK.finditer(text):
        before = text[start:match.start()].rstrip(".!?\"')]").split()
        last_word = before[-1].lower().rstrip(".") if before else ""
        if last_word in ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
            continue
        sentences.append(text[start:match.start()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    out = []
    for sentence in filter(None, sentences):
        words = sentence.split()
        for begin in range(0, len(words), MAX_SENTENCE_WORDS):
            out.append(" ".join(words[begin:begin + MAX_SENTENCE_WORDS])[:MAX_SENTENCE_CHARS])
    return out
