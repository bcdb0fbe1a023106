"""Portfolio themes on vectors with a known structure: k chosen by the elbow and the silhouette,
themes named by their distinctive keywords, ids and labels kept across runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from impacting.settings import SettingsError, ThemeSettings
from impacting.triage.themes.charts import request_theme_fragment, selection_fragment, themes_fragment
from impacting.triage.themes.naming import distinctive_keywords, label_of
from impacting.triage.themes.portfolio import ThemeRequest, find_themes, remembered_from_rows, trends
from impacting.triage.themes.selection import KPoint, choose, k_range, scan

TOPICS = {
    "storage": ("csi volume snapshot", ["csi driver", "volume snapshot", "persistent volume"]),
    "network": ("service ingress dns", ["ingress controller", "service mesh", "dns policy"]),
    "scheduling": ("scheduler pod priority", ["pod priority", "scheduler plugin", "preemption"]),
    "release": ("release artifacts images", ["release notes", "container images", "signed artifacts"]),
}
START = datetime(2021, 1, 4, tzinfo=UTC)


def portfolio(per_topic: int = 12, dim: int = 24, seed: int = 3, spread: float = 0.25):
    """`per_topic` requests around each of four directions, with words and keywords of their topic
    plus words every request shares."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(TOPICS), dim))
    requests, vectors = [], []
    for t, (topic, (words, keywords)) in enumerate(TOPICS.items()):
        for i in range(per_topic):
            key = f"{topic[:3].upper()}-{i}"
            vectors.append(centres[t] + spread * rng.normal(size=dim))
            requests.append(ThemeRequest(
                key, f"{topic} request {i}", START + timedelta(days=30 * i + t),
                (keywords[i % 3], "kubernetes"),
                f"{words} kubernetes design proposal {keywords[i % 3]} {keywords[(i + 1) % 3]}",
                (f"sig-{topic}",), is_past=i % 4 != 3, awaiting_triage=i % 4 == 3))
    vectors = np.asarray(vectors, dtype=np.float32)
    return requests, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def settings(**values) -> ThemeSettings:
    return ThemeSettings.from_values({"k_min": 2, "k_max": 8, **values})


def test_both_curves_find_the_four_topics_and_say_which_k_each_suggests():
    requests, vectors = portfolio()
    result = find_themes(requests, vectors, settings(), model_id="m")
    assert (result.choice.elbow_k, result.choice.silhouette_k, result.choice.k) == (4, 4, 4)
    assert result.choice.method == "elbow" and "elbow suggests 4, silhouette 4" in result.choice.note
    curve = result.selection.set_index("k")
    assert list(curve.index) == list(range(2, 9))
    assert curve["inertia"].is_monotonic_decreasing
    assert curve.loc[4, "is_chosen"] and curve.loc[4, "is_elbow"] and curve.loc[4, "is_best_silhouette"]
    assert curve["is_chosen"].sum() == 1 and curve.loc[4, "note"]
    # Each theme is one topic, named by its topic's words and not by what every request says.
    assert len(result.themes) == 4
    for theme in result.themes.itertuples(index=False):
        assigned = result.project_themes
        members = assigned.loc[assigned["theme_id"] == theme.theme_id, "request_key"]
        assert len({key.split("-")[0] for key in members}) == 1
        assert "kubernetes" not in theme.label and "design" not in theme.keywords
        assert theme.size == 12 and theme.past_projects == 9 and theme.awaiting_triage == 3
        assert len(theme.top_teams) == 1 and theme.cohesion > 0.5
    labels = " ".join(result.themes["label"])
    for word in ("csi", "ingress", "scheduler", "release"):
        assert word in labels


def test_a_fixed_k_or_the_silhouette_can_choose_instead():
    requests, vectors = portfolio()
    fixed = find_themes(requests, vectors, settings(k=6), model_id="m")
    assert fixed.choice.k == 6 and fixed.choice.method == "fixed" and len(fixed.themes) == 6
    assert len(fixed.selection) == 7  # the curves are still there
    by_silhouette = find_themes(requests, vectors, settings(k_method="silhouette"), model_id="m")
    assert by_silhouette.choice.method == "silhouette" and by_silhouette.choice.k == 4


def test_a_curve_without_a_knee_falls_back_to_the_silhouette_and_says_so():
    points = [KPoint(k, 100.0 - 10 * k, 0.1 + (0.05 if k == 5 else 0)) for k in range(2, 9)]
    choice = choose(points, "elbow")
    assert choice.elbow_k is None and choice.k == 5 and choice.method == "silhouette"
    assert "no knee" in choice.note


def test_the_previous_k_stays_while_its_score_is_within_the_tolerance():
    points = [KPoint(k, 0.0, s) for k, s in ((2, 0.10), (3, 0.153), (4, 0.150), (5, 0.12))]
    assert choose(points, "silhouette", previous_k=4).k == 4
    assert choose(points, "silhouette", previous_k=4).method == "kept"
    assert choose(points, "silhouette", previous_k=2).k == 3  # far worse: the best wins


def test_k_range_keeps_themes_of_five_requests_on_average():
    assert k_range(100, 2, 20) == list(range(2, 21))
    assert k_range(30, 2, 20) == list(range(2, 7))
    assert k_range(6, 2, 20) == [2] and k_range(2, 2, 20) == []


def test_ids_and_labels_survive_one_added_request_and_a_reshuffled_clustering():
    requests, vectors = portfolio()
    first = find_themes(requests[:-1], vectors[:-1], settings(), model_id="m")
    memory = remembered_from_rows(first.memory)
    later = datetime(2030, 1, 1, tzinfo=UTC)
    # Another seed numbers the clusters differently; the ids must not follow those numbers.
    second = find_themes(requests, vectors, settings(seed=99), memory, model_id="m", now=later)
    assert second.labels() == first.labels()
    assert set(second.themes["first_seen_at"]) == set(first.themes["first_seen_at"])
    assert (second.themes["label_since"] < pd.Timestamp(later)).all()
    before = dict(zip(first.project_themes["request_key"], first.project_themes["theme_id"], strict=True))
    after = dict(zip(second.project_themes["request_key"], second.project_themes["theme_id"], strict=True))
    assert all(after[key] == theme for key, theme in before.items())


def test_a_theme_that_vanishes_is_retired_and_a_new_one_gets_a_new_id():
    requests, vectors = portfolio()
    keep = [i for i, r in enumerate(requests) if not r.key.startswith("REL")]
    first = find_themes([requests[i] for i in keep], vectors[keep], settings(k=3), model_id="m")
    second = find_themes(requests, vectors, settings(k=4), remembered_from_rows(first.memory), model_id="m")
    assert set(first.labels()) < set(second.labels())
    new = set(second.labels()) - set(first.labels())
    assert new == {max(first.labels()) + 1}
    third = find_themes([requests[i] for i in keep], vectors[keep], settings(k=3),
                        remembered_from_rows(second.memory), model_id="m")
    memory = third.memory.set_index("theme_id")
    assert not memory.loc[next(iter(new)), "active"] and memory["active"].sum() == 3
    # Another embedding model's centroids cannot be compared: new ids, and a note says why.
    other = find_themes(requests, vectors, settings(k=4), remembered_from_rows(second.memory), model_id="x")
    assert min(other.labels()) > max(second.labels()) and any("model changed" in n for n in other.notes)


def test_requests_without_words_belong_to_no_theme_and_are_named():
    requests, vectors = portfolio()
    vectors = vectors.copy()
    vectors[0] = 0
    result = find_themes(requests, vectors, settings(), model_id="m")
    assert requests[0].key not in set(result.project_themes["request_key"])
    assert any(requests[0].key in note for note in result.notes)
    assert find_themes(requests[:1], vectors[1:2], settings(), model_id="m").themes.empty


def test_distinctive_keywords_are_frequent_in_the_theme_and_rare_elsewhere():
    clusters = np.array([0, 0, 0, 1, 1, 1])
    keywords = [("volume snapshot", "kubernetes"), ("csi driver",), ("volume snapshot",),
                ("ingress",), ("ingress", "kubernetes"), ("dns",)]
    texts = ["volume snapshot csi kubernetes", "csi driver volume kubernetes", "volume snapshot csi",
             "ingress dns kubernetes", "ingress kubernetes", "dns ingress"]
    found = distinctive_keywords(clusters, keywords, texts)
    assert [k.phrase for k in found[0]][:2] == ["csi", "volume"]
    assert found[0][0].share == 1.0 and found[0][0].elsewhere == 0.0
    assert found[1][0].phrase == "ingress" and "kubernetes" not in [k.phrase for k in found[1]]
    assert label_of(["volume snapshot", "volumes", "snapshots", "csi"]) == ["volume snapshot", "csi"]


def test_trends_count_every_quarter_with_zeros_and_shares():
    frame = trends([datetime(2022, 1, 5, tzinfo=UTC), datetime(2022, 8, 1, tzinfo=UTC),
                    datetime(2022, 8, 2, tzinfo=UTC)], [1, 1, 2])
    one = frame[frame["theme_id"] == 1].set_index("quarter")
    assert list(one.index) == ["2022-Q1", "2022-Q2", "2022-Q3"]
    assert list(one["requests_created"]) == [1, 0, 1]
    assert one.loc["2022-Q3", "share_of_quarter"] == 0.5 and pd.isna(one.loc["2022-Q2", "share_of_quarter"])


def test_fragments_escape_whatever_the_data_says():
    requests, vectors = portfolio()
    result = find_themes(requests, vectors, settings(), model_id="m")
    themes = result.themes.assign(label="<script>alert(1)</script>")
    page = themes_fragment(themes, result.trends) + selection_fragment(result.selection)
    assert "<script>" not in page and "&lt;script&gt;" in page and "<svg" in page
    brief = request_theme_fragment({"theme_id": 3, "label": "a & <b>", "size": 4, "silhouette": 0.3,
                                    "keywords": ["x"], "representative_key": "K-1",
                                    "representative_title": "<i>t</i>"})
    assert "a &amp; &lt;b&gt;" in brief and "<i>" not in brief and "typical of it" in brief
    assert "none yet" in request_theme_fragment(None)


def test_theme_settings_are_checked():
    with pytest.raises(SettingsError, match="IMPACTING_THEMES_K_MIN=9 is above IMPACTING_THEMES_K_MAX=4"):
        ThemeSettings.from_env({"IMPACTING_THEMES_K_MIN": "9", "IMPACTING_THEMES_K_MAX": "4"})
    with pytest.raises(SettingsError, match="IMPACTING_THEMES_K_METHOD"):
        ThemeSettings.from_env({"IMPACTING_THEMES_K_METHOD": "gap"})
    assert ThemeSettings.from_env({"IMPACTING_THEMES_K_METHOD": " Silhouette "}).k_method == "silhouette"


def test_scan_records_inertia_and_silhouette_for_every_k():
    _, vectors = portfolio(per_topic=6)
    found = scan(vectors, [2, 3, 4], seed=1)
    assert sorted(found) == [2, 3, 4]
    assert all(point.silhouette is not None and point.inertia > 0 for _, point in found.values())


def test_scan_works_on_sparse_tf_idf_rows_as_the_baseline_does():
    from scipy.sparse import csr_matrix

    _, vectors = portfolio(per_topic=6)
    found = scan(csr_matrix(np.abs(vectors)), [1, 2, 3], seed=1)
    assert found[1][1].silhouette is None and found[3][1].silhouette is not None


def test_kmeans_starts_from_last_nights_centroids_unless_a_fresh_start_is_clearly_tighter():
    from impacting.triage.themes.selection import kmeans, kmeans_from

    _, vectors = portfolio()
    fresh = kmeans(vectors, 4, seed=1)
    starts = np.vstack([vectors[fresh.labels == c].mean(axis=0) for c in (2, 0, 3, 1)])
    starts /= np.linalg.norm(starts, axis=1, keepdims=True)
    warm = kmeans_from(vectors, starts, fresh, seed=1)
    # The same partition, numbered in the order of the starts it was given.
    assert [int(warm.labels[fresh.labels == c][0]) for c in (2, 0, 3, 1)] == [0, 1, 2, 3]
    # Starts that put two centroids in one topic and none in another converge to a looser
    # clustering: the fresh one wins.
    bad = np.vstack([starts[0], starts[0] + 0.01, starts[1], starts[2]])
    assert kmeans_from(vectors, bad, fresh, seed=1).inertia <= fresh.inertia * 1.02
