"""The similarity index kept between nights: built once, then extended with the new past projects.

Building the index reads every past project: the TF-IDF vocabulary is fitted on all their words
and every past sentence is stacked and centred. That cost grows with the history, while a night
adds a handful of past projects. So the index is stored in a folder (the working folder's
`similarity-index/`) and the next night only adds what is new:

- **extended** when the past projects of last time are all still there with the same text and
  only new ones were added: their sentences are centred on the stored centre and appended, their
  words split into terms and their term counts appended. The TF-IDF half is refitted from all the
  stored counts each run (`triage.term_counts`: the same matrix a fresh fit gives, in a fraction
  of the time), so new projects' words count at once. The sentence file is memory-mapped, so a
  night touches only the passages it compares (the two-stage search's candidates).
- **built** from scratch when anything else changed: a past project removed or its text edited,
  other template sentences, another lexical weight, model or index code, a damaged folder, or
  the history grown by more than `rebuild_growth` (default a quarter) since the last build, so
  the frozen centre and vocabulary never drift far from what a fresh build would give.
- **loaded** as it is when nothing changed.

Between builds the words are exactly a fresh build's; the sentences are centred on the last
build's centre, not on today's (`benchmarks/kept_index.py` and `impacting bench --history` report
how close the results are). A build writes a new folder and swaps it in; an extension appends
and then rewrites the description last, so a run killed half-way leaves the last complete index
(rows and terms beyond what the description counts are ignored).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from impacting.triage.corpus import Corpus
from impacting.triage.similar import SimilarityIndex, passage_rows
from impacting.triage.term_counts import count_terms, fit_counts

FORMAT = 1
DEFAULT_REBUILD_GROWTH = 0.25
META, SENTENCES, LENGTHS, MEANS, CENTER, TERMS = (
    "index.json", "sentences.f32", "lengths.npy", "means.npy", "center.npy", "terms.txt")
BUILT, EXTENDED, LOADED = "built", "extended", "loaded"


@dataclass(frozen=True)
class KeptReport:
    """What :meth:`KeptIndex.update` did, for the run's log and metadata."""

    action: str          # BUILT, EXTENDED or LOADED
    documents: int       # past projects in the index
    added: int           # appended this time (EXTENDED)
    since_build: int     # past projects appended since the last build
    reason: str          # why it was built, when it was
    seconds: float

    def describe(self) -> str:
        if self.action == BUILT:
            return (f"built the similarity index over {self.documents} past projects in "
                    f"{self.seconds:.1f} s ({self.reason})")
        if self.action == EXTENDED:
            return (f"extended the kept similarity index with {self.added} new past projects in "
                    f"{self.seconds:.1f} s ({self.documents} in all, {self.since_build} added since "
                    f"it was built)")
        return f"loaded the kept similarity index over {self.documents} past projects unchanged"


def _code_version() -> str:
    """The index's own code and the vectorizer's library: stored parts read by other code are
    rebuilt, not trusted."""
    import sklearn

    from impacting.triage import corpus, similar

    digest = hashlib.sha256(f"{FORMAT}:{sklearn.__version__}".encode())
    for module in (corpus, similar):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def index_config(*, lexical_weight: float, model_id: str, template: frozenset[str]) -> str:
    """What stored parts are valid for: a change rebuilds the index."""
    parts = {"lexical_weight": lexical_weight, "model": model_id, "code": _code_version(),
             "template": hashlib.sha256("\n".join(sorted(template)).encode()).hexdigest()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class KeptIndex:
    """A :class:`SimilarityIndex` of past projects stored in `folder` between runs."""

    def __init__(self, folder: Path, rebuild_growth: float = DEFAULT_REBUILD_GROWTH):
        if rebuild_growth < 0:
            raise ValueError(f"rebuild_growth must be 0 or more, got {rebuild_growth}")
        self.folder = Path(folder)
        self.rebuild_growth = rebuild_growth

    def update(self, documents: Sequence[tuple[str, str]], template: frozenset[str],
               load: Callable[[list[str]], Corpus], *, lexical_weight: float, candidates: int,
               model_id: str) -> tuple[SimilarityIndex, KeptReport]:
        """The index over the past projects `documents` ((key, text fingerprint), in the order
        results are wanted), extended or built as needed. `load(keys)` gives those past projects
        as a corpus (all of them for a build, only the new ones for an extension)."""
        started = time.perf_counter()
        config = index_config(lexical_weight=lexical_weight, model_id=model_id, template=template)
        meta, reason = self._usable(config)
        keys = [k for k, _ in documents]
        if meta is not None:
            wanted = dict(documents)
            added, since, reason = self._changes(meta, wanted, keys)
            if not reason:
                try:
                    if added:
                        meta = self._extend(meta, load(added), [wanted[k] for k in added], template)
                    index = self._open(meta, keys, template, lexical_weight, candidates)
                    return index, KeptReport(EXTENDED if added else LOADED, len(keys), len(added),
                                             since, "", time.perf_counter() - started)
                except (OSError, ValueError, KeyError) as error:   # a damaged folder
                    reason = f"the kept index could not be read ({error})"
        pool = load(keys)
        index = self._build(pool, template, config, [fp for _, fp in documents], lexical_weight,
                            candidates)
        return index, KeptReport(BUILT, len(keys), 0, 0, reason, time.perf_counter() - started)

    def _changes(self, meta: dict, wanted: dict[str, str], keys: list[str]) -> tuple[list[str], int, str]:
        """(keys to add, past projects added since the last build, why it must be built afresh:
        empty when adding them is enough)."""
        stored = dict(zip(meta["keys"], meta["fingerprints"], strict=True))
        if any(wanted.get(k) != fp for k, fp in stored.items()):
            gone = sum(1 for k in stored if k not in wanted)
            return [], 0, (f"{gone} past projects left the history" if gone else
                           "a past project's text changed")
        added = [k for k in keys if k not in stored]
        since = len(stored) + len(added) - meta["built"]
        if since > self.rebuild_growth * max(meta["built"], 1):
            return added, since, (f"{since} past projects added since the last build of "
                                  f"{meta['built']}: more than {self.rebuild_growth:.0%}")
        return added, since, ""

    # --- reading -------------------------------------------------------------------------------

    def _usable(self, config: str) -> tuple[dict | None, str]:
        path = self.folder / META
        if not path.exists():
            return None, "no index kept yet"
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            return None, f"its description could not be read ({error})"
        if meta.get("format") != FORMAT or meta.get("config") != config:
            return None, "the settings, model, template sentences or index code changed"
        return meta, ""

    def _open(self, meta: dict, keys: list[str], template: frozenset[str], lexical_weight: float,
              candidates: int) -> SimilarityIndex:
        from scipy.sparse import load_npz, vstack

        folder, count, rows = self.folder, len(meta["keys"]), meta["rows"]
        lengths = np.load(folder / LENGTHS)[:count]
        means = np.load(folder / MEANS)[:int((lengths > 0).sum())]
        center = np.load(folder / CENTER) if meta["has_center"] else None
        sentences = (np.memmap(folder / SENTENCES, dtype=np.float32, mode="r",
                               shape=(rows, meta["dim"])) if rows else
                     np.zeros((0, meta["dim"]), np.float32))
        terms = self._terms(meta)
        segments = [load_npz(folder / name) for name in meta["counts"]]
        for segment in segments:   # earlier segments knew fewer terms
            segment.resize((segment.shape[0], len(terms)))
        counts = vstack(segments).tocsr()[:count] if segments else None
        vectorizer, pool_terms = fit_counts(counts, terms) if counts is not None else (None, None)
        position = {k: j for j, k in enumerate(meta["keys"])}
        return SimilarityIndex.assembled(
            keys=meta["keys"], template=template, lexical_weight=lexical_weight,
            candidates=candidates, vectorizer=vectorizer, pool_terms=pool_terms, sentences=sentences,
            lengths=lengths, means=means, center=center,
            columns=None if keys == meta["keys"] else np.array([position[k] for k in keys]))

    def _terms(self, meta: dict) -> list[str]:
        """The stored terms, in id order (the count matrices' columns)."""
        with (self.folder / TERMS).open("rb") as handle:
            text = handle.read(meta["terms_bytes"]).decode("utf-8")
        return text.split("\n")[:-1] if text else []

    # --- writing -------------------------------------------------------------------------------

    def _build(self, pool: Corpus, template: frozenset[str], config: str, fingerprints: list[str],
               lexical_weight: float, candidates: int) -> SimilarityIndex:
        """Build the index over `pool` in a new folder and swap it in."""
        from scipy.sparse import save_npz

        terms: list[str] = []
        counts = count_terms(pool.lexical_without(template), terms, {})
        vectorizer, pool_terms = fit_counts(counts, terms)
        sentences, lengths, means, center = passage_rows(pool, template)
        work = self.folder.with_name(self.folder.name + ".new")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        np.ascontiguousarray(sentences, dtype=np.float32).tofile(work / SENTENCES)
        np.save(work / LENGTHS, lengths)
        np.save(work / MEANS, means)
        if center is not None:
            np.save(work / CENTER, center)
        written = "".join(f"{term}\n" for term in terms).encode("utf-8")
        (work / TERMS).write_bytes(written)
        save_npz(work / "counts-0.npz", counts, compressed=False)
        meta = {"format": FORMAT, "config": config, "keys": pool.keys, "fingerprints": fingerprints,
                "built": len(pool), "rows": len(sentences), "dim": int(sentences.shape[1]),
                "has_center": center is not None, "counts": ["counts-0.npz"],
                "terms_bytes": len(written)}
        (work / META).write_text(json.dumps(meta))
        old = self.folder.with_name(self.folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.folder.exists():
            os.replace(self.folder, old)
        os.replace(work, self.folder)
        shutil.rmtree(old, ignore_errors=True)
        return SimilarityIndex.assembled(
            keys=pool.keys, template=template, lexical_weight=lexical_weight, candidates=candidates,
            vectorizer=vectorizer, pool_terms=pool_terms, sentences=sentences, lengths=lengths,
            means=means, center=center)

    def _extend(self, meta: dict, more: Corpus, fingerprints: list[str],
                template: frozenset[str]) -> dict:
        """Append the past projects `more` (none of them stored yet; their text `fingerprints`)
        and return the new description, written last."""
        from scipy.sparse import save_npz

        folder, count = self.folder, len(meta["keys"])
        center = np.load(folder / CENTER) if meta["has_center"] else None
        sentences, lengths, means, new_center = passage_rows(more, template, center)
        terms = self._terms(meta)
        known = len(terms)
        counts = count_terms(more.lexical_without(template), terms, {t: j for j, t in enumerate(terms)})
        old_lengths = np.load(folder / LENGTHS)[:count]
        old_means = np.load(folder / MEANS)[:int((old_lengths > 0).sum())]
        with (folder / SENTENCES).open("r+b" if (folder / SENTENCES).exists() else "wb") as handle:
            handle.truncate(meta["rows"] * meta["dim"] * 4)   # rows a killed run left behind
            handle.seek(0, os.SEEK_END)
            handle.write(np.ascontiguousarray(sentences, dtype=np.float32).tobytes())
        added = "".join(f"{term}\n" for term in terms[known:]).encode("utf-8")
        with (folder / TERMS).open("r+b") as handle:
            handle.truncate(meta["terms_bytes"])               # terms a killed run left behind
            handle.seek(0, os.SEEK_END)
            handle.write(added)
        _replace_array(folder / LENGTHS, np.concatenate([old_lengths, lengths]))
        _replace_array(folder / MEANS, np.concatenate([old_means, means]) if len(means) else old_means)
        name = f"counts-{len(meta['counts'])}.npz"
        save_npz(folder / name, counts, compressed=False)
        has_center = meta["has_center"]
        if not has_center and new_center is not None:   # the first sentences ever: their centre
            np.save(folder / CENTER, new_center)
            has_center = True
        meta = {**meta, "keys": meta["keys"] + more.keys, "fingerprints": meta["fingerprints"] + fingerprints,
                "rows": meta["rows"] + len(sentences), "counts": [*meta["counts"], name],
                "terms_bytes": meta["terms_bytes"] + len(added), "has_center": has_center}
        _replace_text(folder / META, json.dumps(meta))
        return meta


def pool_index(kept: KeptIndex, pool: Corpus, fingerprints: Sequence[str], template: frozenset[str],
               *, lexical_weight: float, candidates: int, model_id: str
               ) -> tuple[SimilarityIndex, KeptReport]:
    """The kept index over a corpus already in memory (`fingerprints`: its requests' text
    fingerprints, in order): what the pipeline's triage steps use."""
    return kept.update(list(zip(pool.keys, fingerprints, strict=True)), template,
                       lambda keys: pool.subset([pool.position(k) for k in keys]),
                       lexical_weight=lexical_weight, candidates=candidates, model_id=model_id)


def _replace_array(path: Path, array: np.ndarray) -> None:
    work = path.with_name(path.name + ".new.npy")
    np.save(work, array)
    os.replace(work, path)


def _replace_text(path: Path, text: str) -> None:
    work = path.with_name(path.name + ".new")
    work.write_text(text)
    os.replace(work, path)
