"""Extract-then-abstract through the real transformers code path, with a tiny seq2seq model
and tokenizer built here (random weights): nothing is downloaded."""

import duckdb
import pytest

from impacting.language.abstractive import AbstractiveSummariser
from impacting.language.analysis import LanguageConfig, summarise_document
from impacting.language.chunking import chunk_document
from impacting.language.encoder import EmbeddingCache, ModelUnavailable, shared_encoder
from impacting.language.summarise import Degree
from impacting.language.vectors import embed_chunks, prose_chunks
from impacting.settings import LanguageSettings

pytestmark = pytest.mark.slow

SECTIONS = ["Motivation", "Design", "Testing", "Rollout", "Risks"]


def _long_document() -> str:
    parts = ["# Node Memory Swap"]
    for number, name in enumerate(SECTIONS):
        parts.append(f"## {name}")
        parts += [f"In the {name.lower()} part, swap support on node {i} changes how memory "
                  f"pressure evicts pods, case {number}-{i}." for i in range(12)]
    return "\n\n".join(parts)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A two-layer BART with a word-level tokenizer trained on a few sentences, saved to disk."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bart")
    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(
        _long_document().split("\n\n"),
        trainers.WordLevelTrainer(special_tokens=["<pad>", "<s>", "</s>", "<unk>"]))
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", bos_token="<s>",
                                      eos_token="</s>", unk_token="<unk>", model_max_length=128)
    wrapped.save_pretrained(folder)
    torch.manual_seed(0)
    config = BartConfig(vocab_size=len(wrapped), d_model=16, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                        decoder_ffn_dim=32, max_position_embeddings=128, pad_token_id=0,
                        bos_token_id=1, eos_token_id=2, decoder_start_token_id=2,
                        forced_bos_token_id=None, forced_eos_token_id=None)
    BartForConditionalGeneration(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def document():
    with duckdb.connect(":memory:") as con:
        cache = EmbeddingCache(con, shared_encoder())
        prose = prose_chunks(chunk_document("D", _long_document()))
        yield prose, embed_chunks(cache, prose)


def test_a_document_longer_than_the_model_window_is_extracted_then_rewritten(tiny_model, document):
    prose, vectors = document
    summariser = AbstractiveSummariser(str(tiny_model), num_beams=1)
    assert summariser.input_tokens == 128
    assert sum(c.words for c in prose) > 128 * 3  # far more than the model can read

    summary = summariser.summarise(prose, vectors, Degree(words=20))
    assert summary.method == "abstractive" and summary.degree == "20 words"
    assert summary.text and summary.words <= (20 * 1.4 + 16)
    # The model read an extract drawn from across the document, within its window.
    source = {c.index: c for c in prose}
    extract = [source[i] for i in summary.chunk_indexes]
    assert sum(c.words for c in extract) <= 128 / 1.4 + max(c.words for c in extract)
    assert len({c.section[1] for c in extract}) >= 3
    # Its words come from the tiny vocabulary, i.e. from the model's own output.
    tokenizer, _ = summariser.load()
    assert set(summary.text.split()) <= set(tokenizer.get_vocab())


def test_settings_choose_the_abstractive_method_for_both_summaries(tiny_model, document):
    prose, vectors = document
    config = LanguageConfig.from_settings(LanguageSettings(
        summary_words=30, executive_words=15, summary_method="abstractive",
        abstractive_model=str(tiny_model)))
    summaries = summarise_document(prose, vectors, config)
    assert {s.method for s in summaries.values()} == {"abstractive"}


def test_a_model_that_is_not_there_says_what_to_set(tmp_path, document):
    prose, vectors = document
    with pytest.raises(ModelUnavailable, match="IMPACTING_ABSTRACTIVE_MODEL"):
        AbstractiveSummariser(str(tmp_path / "missing")).summarise(prose, vectors, Degree(words=20))
