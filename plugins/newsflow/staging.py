"""The per-run staging folder: stages hand each other Parquet files with fixed schemas, never data through XCom.

Layout: <data>/staging/<run key>/<source>/{ledger.<stage>.parquet, articles.parquet, valid.parquet, rejected.parquet}.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from newsflow.config import data_dir

_TS = pa.timestamp("us", tz="UTC")

# A source's staging folder, file by file, in the order the stages write them: each stage reads those before its own,
# and a stage cleared to run again first removes its own and the later stages' (newsflow.stages.failures, whose
# table of what each stage writes must name a new file too, or a killed rerun leaves it for the load to take)
DISCOVER_LEDGER_FILE = "ledger.discover.parquet"
FETCH_LEDGER_FILE = "ledger.fetch.parquet"
ARTICLES_FILE = "articles.parquet"
EXTRACT_LEDGER_FILE = "ledger.extract.parquet"
VALID_FILE = "valid.parquet"
REJECTED_FILE = "rejected.parquet"
VALIDATION_FILE = "validation.parquet"
VALIDATE_LEDGER_FILE = "ledger.validate.parquet"
# the DAG whose run planned the source (claim): written by the plan, kept when a stage is cleared
CLAIM_FILE = ".claimed_by"

# One row per URL the run touched; `outcome` stays null while the URL is still moving through the stages.
LEDGER = pa.schema(
    [
        ("seq", pa.int32()),
        ("url_kind", pa.string()),
        ("url", pa.string()),
        ("canonical_url", pa.string()),
        ("article_id", pa.string()),
        ("hint_date", pa.string()),
        ("hint_title", pa.string()),
        ("outcome", pa.string()),
        ("reason", pa.string()),
        ("http_status", pa.int32()),
        ("bytes", pa.int64()),
        ("duration_ms", pa.int32()),
        ("tries", pa.int32()),
        ("fetched_at", _TS),
        ("final_url", pa.string()),
        ("content_type", pa.string()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("content_sha1", pa.string()),
        ("warc_file", pa.string()),
        ("warc_offset", pa.int64()),
        ("warc_date", pa.string()),
    ]
)

ARTICLE = pa.schema(
    [
        ("seq", pa.int32()),
        ("article_id", pa.string()),
        ("url", pa.string()),
        ("canonical_url", pa.string()),
        ("source", pa.string()),
        ("source_domain", pa.string()),
        ("sitename", pa.string()),
        ("title", pa.string()),
        ("author", pa.string()),
        ("published_at", _TS),
        ("published_date", pa.date32()),
        ("date_source", pa.string()),
        ("date_disagreement", pa.bool_()),
        ("date_reason", pa.string()),
        ("date_candidates", pa.string()),
        ("language", pa.string()),
        ("language_source", pa.string()),
        ("body", pa.string()),
        ("body_chars", pa.int32()),
        ("link_density", pa.float32()),
        ("body_hash", pa.string()),
        ("simhash", pa.uint64()),
        ("credit", pa.string()),
        ("access", pa.string()),
        ("categories", pa.list_(pa.string())),
        ("tags", pa.list_(pa.string())),
        ("fetched_at", _TS),
        ("http_status", pa.int32()),
        ("warc_file", pa.string()),
        ("warc_offset", pa.int64()),
        ("extractor_version", pa.string()),
        ("extractor_settings", pa.string()),
        # what the listing said, as extraction weighed it: news_reprocess reads no listing (017_articles_listing_hints)
        ("listing_date", pa.string()),
        ("listing_title", pa.string()),
    ]
)

REJECTED = ARTICLE.append(pa.field("reasons", pa.list_(pa.string()))).append(
    pa.field("failed_expectations", pa.list_(pa.string()))
)

VALIDATION = pa.schema(
    [
        ("source", pa.string()),
        ("expectation", pa.string()),
        ("column_name", pa.string()),
        ("success", pa.bool_()),
        ("element_count", pa.int32()),
        ("unexpected_count", pa.int32()),
        ("unexpected_percent", pa.float64()),
        ("details", pa.string()),
    ]
)


def run_key(run_id: str) -> str:
    """A folder-safe, readable form of an Airflow run id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")[:150] or "run"


def source_dir(run_id: str, source: str, base: Path | None = None) -> Path:
    path = (base or data_dir()) / "staging" / run_key(run_id) / source
    path.mkdir(parents=True, exist_ok=True)
    return path


def claim(folder: Path, dag_id: str) -> str | None:
    """Take a source's staging folder for `dag_id`'s run; returns the DAG that holds it when that is another one.

    Airflow's run ids are unique per DAG only: a source moved to a new schedule while a run of its old one is in
    flight is planned again under the same id by the new schedule's DAG (its first run is the slot just past), and
    both runs shared this folder: each stage of one cleared what the other had staged, the run that loaded first
    logged the source `source_failed` and failed its account, and the site was asked for every page twice. The
    first to plan keeps the source; a run cleared and run again is the same DAG's, and keeps it too."""
    path = folder / CLAIM_FILE
    try:
        # created only where the name is free (O_EXCL, atomic on NFS v3 and later too): two plans at one moment
        # never both take the folder
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        holder = path.read_text(encoding="utf-8")
        # empty: the other plan has made the file and not yet written its name
        return None if holder == dag_id else holder or "another DAG's plan"
    with os.fdopen(fd, "w", encoding="utf-8") as claimed:
        claimed.write(dag_id)
    return None


def archive_path(run_id: str, source: str, base: Path | None = None) -> Path:
    from newsflow.archive import ARCHIVE_FOLDER

    return (base or data_dir()) / ARCHIVE_FOLDER / source / f"{run_key(run_id)}.warc.gz"


def write(rows: list[dict] | pa.Table, schema: pa.Schema, path: Path) -> Path:
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=schema)
    tmp = path.with_suffix(path.suffix + ".tmp")
    pq.write_table(table.cast(schema), tmp, compression="zstd")
    # atomic replace: a retried task never leaves a half-written file for the next stage
    os.replace(tmp, path)
    return path


class BatchWriter:
    """Rows to a Parquet file in row groups, so a stage never holds all of a run's bodies in memory."""

    def __init__(self, path: Path, schema: pa.Schema, batch_rows: int = 500):
        self.path, self.schema, self.batch_rows = Path(path), schema, batch_rows
        self._tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        self._writer = pq.ParquetWriter(self._tmp, schema, compression="zstd")
        self._rows: list[dict] = []
        self.count = 0

    def add(self, row: dict) -> None:
        self._rows.append(row)
        if len(self._rows) >= self.batch_rows:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self.count += len(self._rows)
            self._rows = []

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self._flush()
        self._writer.close()
        if exc_type is None:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)


def conformed(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` in `schema`: a column the file lacks is null, one the schema lacks is dropped.

    A run's files can outlive the code that staged them: newsflow upgraded (or downgraded) while a run was between
    stages, its next task reads what the previous version wrote."""
    columns = [
        table.column(field.name).cast(field.type) if field.name in table.column_names
        else pa.nulls(table.num_rows, field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def conform_file(path: Path, schema: pa.Schema) -> None:
    """Rewrite a staged file in `schema` when another version of newsflow staged it (DuckDB reads it by name)."""
    if not pq.read_schema(path).remove_metadata().equals(schema):
        write(conformed(pq.read_table(path), schema), schema, path)


def iter_rows(path: Path, schema: pa.Schema, batch_rows: int = 1000):
    """Rows of a staged file, a batch at a time."""
    if not Path(path).exists():
        return
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
        yield conformed(pa.Table.from_batches([batch]), schema).to_pylist()


def read(path: Path, schema: pa.Schema) -> pa.Table:
    if not Path(path).exists():
        return schema.empty_table()
    return pq.read_table(path, schema=schema)


def rows(path: Path, schema: pa.Schema) -> list[dict]:
    return read(path, schema).to_pylist()



def ledger_row(seq: int, url_kind: str, url: str, **fields) -> dict:
    """A LEDGER row with every column present; `outcome` stays null until a stage decides it."""
    row = dict.fromkeys(LEDGER.names)
    row.update(seq=seq, url_kind=url_kind, url=url, **fields)
    return row
