"""Portfolio themes: every request clustered by meaning, k chosen by the elbow and silhouette
curves (both shown here as a chart), themes named by their distinctive keywords and kept from
run to run."""

import dagster as dg

from impacting.defs.errors import failures
from impacting.defs.metadata import (
    bullet_list,
    image_markdown,
    markdown_table,
    table_key,
    table_metadata,
    table_spec,
)
from impacting.defs.resources import WAREHOUSE_POOL, LanguageResource, ThemesResource, WarehouseResource
from impacting.language.encoder import EmbeddingCache
from impacting.settings import var
from impacting.triage.themes.charts import selection_chart, trends_chart
from impacting.triage.themes.portfolio import find_themes
from impacting.triage.themes.store import remembered_themes, theme_requests, write_themes
from impacting.warehouse.tables import (
    DESCRIPTION_CHUNKS,
    PROJECT_THEMES,
    TEMPLATE_PASSAGES,
    THEME_MEMORY,
    THEME_SELECTION,
    THEME_TABLES,
    THEME_TRENDS,
    THEMES,
)

GROUP = "triage"
UPSTREAM = ["triage_corpus", table_key(DESCRIPTION_CHUNKS), table_key(TEMPLATE_PASSAGES), "keywords",
            "chunks"]

SPECS = [
    table_spec(THEMES, group_name=GROUP, deps=UPSTREAM, kinds={"scikitlearn", "duckdb"},
               description="What the department is asked to do: every request (past and awaiting "
               "triage) clustered with k-means on its centred document vector, k chosen over a range "
               f"by the elbow of the inertia curve or the silhouette ({var('themes.k_method')}), each "
               "theme named by its most distinctive keywords; ids and labels kept from run to run."),
    table_spec(PROJECT_THEMES, group_name=GROUP, kinds={"duckdb"}),
    table_spec(THEME_TRENDS, group_name=GROUP, kinds={"duckdb"}),
    table_spec(THEME_SELECTION, group_name=GROUP, kinds={"duckdb"}),
    table_spec(THEME_MEMORY, group_name=GROUP, kinds={"duckdb"}),
]
PREVIEWS = {
    THEMES.name: ["theme_id", "label", "size", "awaiting_triage", "top_teams", "cohesion"],
    PROJECT_THEMES.name: ["request_key", "theme_id", "theme_label", "distance", "silhouette"],
    THEME_TRENDS.name: ["theme_id", "quarter", "requests_created"],
    THEME_SELECTION.name: ["k", "inertia", "silhouette", "is_elbow", "is_best_silhouette", "is_chosen"],
    THEME_MEMORY.name: ["theme_id", "label", "size", "active", "last_seen_at"],
}


@dg.multi_asset(pool=WAREHOUSE_POOL, specs=SPECS, name="portfolio_themes",
                description="Portfolio themes, their requests, trends, the choice of k and the theme "
                "memory, found together once per run.")
def portfolio_themes(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                     language: LanguageResource, themes: ThemesResource):
    encoder = language.encoder()
    with failures(), warehouse.open().connect() as con:
        requests, vectors = theme_requests(con, EmbeddingCache(con, encoder))
        result = find_themes(requests, vectors, themes.settings(), remembered_themes(con), encoder.model_id)
        write_themes(con, result)
        metadata = {declared.name: table_metadata(con, declared, PREVIEWS[declared.name])
                    for declared in THEME_TABLES}
    for note in result.notes:
        context.log.warning(note)
    choice = result.choice
    figures = {}
    if choice is not None:
        context.log.info(f"{choice.k} themes over {len(requests)} requests: {choice.note}")
        figures = {
            "k": choice.k, "k_method": choice.method, "k_note": choice.note,
            "elbow_k": choice.elbow_k if choice.elbow_k is not None else "no knee",
            "silhouette_k": choice.silhouette_k if choice.silhouette_k is not None else "none",
        }
    selection = selection_chart(result.selection)
    extra = {
        THEMES.name: {**figures, "requests_clustered": len(result.project_themes),
                      "themes": dg.MetadataValue.md(markdown_table(
                          result.themes[["theme_id", "label", "size", "top_teams"]], width=120)
                          if len(result.themes) else "none"),
                      "notes": dg.MetadataValue.md(bullet_list(result.notes))},
        THEME_SELECTION.name: {**figures, "chart_k": dg.MetadataValue.md(image_markdown(selection.title,
                                                                                  selection.png()))},
        THEME_TRENDS.name: {"chart_trends": dg.MetadataValue.md(
            image_markdown("Themes over time", trends_chart(result.themes, result.trends).png()))},
    }
    for declared in THEME_TABLES:
        yield dg.MaterializeResult(asset_key=table_key(declared),
                                   metadata=metadata[declared.name] | extra.get(declared.name, {}))


ASSETS = [portfolio_themes]
