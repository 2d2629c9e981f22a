"""newsflow: news pages to a DuckLake warehouse through Airflow 3.

`newsflow.connect()` is the notebook's way in: a read-only DuckDB connection with the lake attached and selected.
"""

__version__ = "0.2.0"


def connect(warehouse: str | None = None):
    """A read-only DuckDB connection to the warehouse, the lake attached as `lake` and selected, so
    `con.sql("select * from coverage_daily")` works. The warehouse is `warehouse` if given, else
    $NEWSFLOW_WAREHOUSE, else `<data dir>/warehouse` (where `make demo` and `newsflow ingest` write by default).
    Each query sees the lake as of its start; loads commit meanwhile without waiting for this connection."""
    # imported here: `import newsflow` stays light (the DAG files import it at parse time)
    from newsflow.warehouse import connect as connect_lake

    return connect_lake(warehouse, read_only=True)
