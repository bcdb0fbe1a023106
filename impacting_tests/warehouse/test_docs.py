from impacting.warehouse.docs import DOC_PATH, render
from impacting.warehouse.tables import ALL_TABLES


def test_table_reference_is_current():
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/tables.md is stale: run `python -m impacting.warehouse.docs`")


def test_every_column_is_explained():
    for table in ALL_TABLES:
        assert table.description
        for column in table.columns:
            assert column.description, f"{table.qualified}.{column.name} has no description"
        assert len(set(table.column_names)) == len(table.columns)
