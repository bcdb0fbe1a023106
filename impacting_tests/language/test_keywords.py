"""Corpus statistics and KeyBERT keywords on the real model, with candidates cached."""

import duckdb
import pytest

from impacting.language.chunking import chunk_document
from impacting.language.document_frequencies import CorpusStats, document_phrases, phrase_analyzer
from impacting.language.encoder import EmbeddingCache, shared_encoder
from impacting.language.keywords import KeywordExtractor, KeywordParams
from impacting.language.vectors import embed_chunks, prose_chunks

pytestmark = pytest.mark.slow

TEMPLATE = """
## User Stories

The user stories describe who benefits from this change and why it matters to them.

## Graduation Criteria

The graduation criteria list what must be true before the feature moves to beta.
"""

TOPICS = {
    "volumes": "Volume snapshots let users back up persistent volumes. A snapshot controller "
               "creates volume snapshots through the CSI driver. Restoring a volume snapshot "
               "creates a new persistent volume from the snapshot.",
    "dns": "CoreDNS replaces kube-dns as the cluster DNS server. CoreDNS plugins rewrite DNS "
           "queries and cache DNS answers. The DNS autoscaler sizes CoreDNS replicas.",
    "ipv6": "Dual-stack networking gives pods IPv4 and IPv6 addresses. Services allocate an IPv6 "
            "cluster IP next to the IPv4 one. Node IPAM assigns IPv6 pod CIDRs.",
    "metrics": "The metrics server aggregates CPU and memory metrics from kubelets. The "
               "horizontal pod autoscaler reads the metrics API. Metrics resolution is 15 seconds.",
    "windows": "Windows nodes run Windows containers with process isolation. Windows security "
               "contexts map to Windows user names. Group managed service accounts give Windows "
               "containers a domain identity.",
    "quota": "Resource quota limits the CPU and memory a namespace may request. Quota scopes "
             "select terminating pods. Quota admission rejects pods over the limit.",
}


def _document(name: str) -> str:
    return f"# {name}\n\n## Summary\n\n{TOPICS[name]}\n{TEMPLATE}"


@pytest.fixture(scope="module")
def corpus_documents():
    return {name: chunk_document(name, _document(name)) for name in TOPICS}


def test_phrases_keep_hyphenated_terms_and_drop_numbers_and_stop_words():
    phrases = phrase_analyzer()("The kube-apiserver serves 1.16 APIs e.g. for dry-run requests.")
    assert "kube-apiserver" in phrases and "dry-run requests" in phrases
    counts = document_phrases(chunk_document("d", "# T\n\nThe kube-apiserver serves 1.16 APIs.\n\n"
                                                  "```\nignored code\n```\n"))
    assert "kube-apiserver" in counts and "16" not in counts and "ignored" not in counts
    assert "the" not in counts


def test_corpus_counts_documents_and_finds_template_sentences(corpus_documents):
    corpus = CorpusStats.build(corpus_documents.values())
    assert corpus.documents == 6
    assert corpus.phrase_share("graduation criteria") == 1.0
    assert corpus.phrase_share("coredns") == pytest.approx(1 / 6)
    assert corpus.idf("coredns") > corpus.idf("graduation criteria")
    template = next(c for c in corpus_documents["dns"] if c.text.startswith("The user stories"))
    specific = next(c for c in corpus_documents["dns"] if c.text.startswith("CoreDNS replaces"))
    assert template.sha256 in corpus.template_sentences
    assert specific.sha256 not in corpus.template_sentences
    # Too few documents to tell template from topic: no penalty at all.
    small = CorpusStats.build(list(corpus_documents.values())[:2])
    assert small.phrase_share("graduation criteria") == 0.0 and not small.template_sentences


def test_keywords_are_specific_to_the_document_and_candidates_are_embedded_once(corpus_documents):
    corpus = CorpusStats.build(corpus_documents.values())
    with duckdb.connect(":memory:") as con:
        cache = EmbeddingCache(con, shared_encoder())
        extractor = KeywordExtractor(cache, corpus, KeywordParams(top_n=5))
        chunks = corpus_documents["dns"]
        vectors = embed_chunks(cache, prose_chunks(chunks))
        first = extractor.extract(chunks, vectors)
        embedded = cache.stats.embedded
        again = extractor.extract(chunks, vectors)
        assert cache.stats.embedded == embedded  # candidates come from the cache the second time

    phrases = [k.phrase for k in first]
    assert [k.phrase for k in again] == phrases
    assert len(phrases) == 5 and len(set(phrases)) == 5
    assert any("dns" in p for p in phrases[:2])
    assert not {"user stories", "graduation criteria", "user", "stories"} & set(phrases)
    assert [k.score for k in first] == sorted((k.score for k in first), reverse=True)
    assert all(k.score == pytest.approx(k.relevance * (1 - k.share)) for k in first)
    assert all(k.count >= 1 for k in first)


def test_without_a_corpus_template_phrases_compete_and_nothing_fails():
    chunks = chunk_document("d", _document("quota"))
    with duckdb.connect(":memory:") as con:
        cache = EmbeddingCache(con, shared_encoder())
        extractor = KeywordExtractor(cache, None, KeywordParams(top_n=3))
        assert len(extractor.extract(chunks, embed_chunks(cache, prose_chunks(chunks)))) == 3
        assert extractor.extract(chunk_document("e", "# Only a title"),
                                 embed_chunks(cache, [])) == []
