"""Prepares the warehouse once per deployment, before any worker loads: creates the Postgres database that holds a
lake's catalog when it is missing, then applies the warehouse migrations (`python -m newsflow.warehouse_init`).
"""

from __future__ import annotations

import argparse
import os

POSTGRES_PREFIX = "postgres:"


def catalog_dsn(location: str) -> str | None:
    """The libpq connection string of a `postgres:` warehouse location, or None for a local warehouse."""
    return location[len(POSTGRES_PREFIX):].strip() if location.startswith(POSTGRES_PREFIX) else None


def ensure_database(dsn: str, maintenance_db: str = "postgres") -> bool:
    """Create the database the DSN names if it does not exist yet; True if it was created.

    CREATE DATABASE cannot run inside the database it creates, so this connects to `maintenance_db` with the same
    host, user and password (PGPASSWORD and ~/.pgpass apply, as for DuckDB's postgres extension).
    """
    try:
        import psycopg2
        from psycopg2 import sql
        from psycopg2.extensions import parse_dsn
    except ImportError as exc:  # the celery extra brings it
        raise SystemExit("newsflow.warehouse_init: psycopg2 is needed for a Postgres catalog "
                         "(install newsflow with the `celery` extra)") from exc

    name = parse_dsn(dsn).get("dbname")
    if not name:
        raise SystemExit(f"newsflow.warehouse_init: no dbname in the catalog location {dsn!r}")
    con = psycopg2.connect(dsn, dbname=maintenance_db)
    try:
        con.autocommit = True  # CREATE DATABASE refuses to run in a transaction
        with con.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (name,))
            if cur.fetchone():
                return False
            cur.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            return True
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--maintenance-db", default="postgres",
                        help="database to connect to while creating the catalog database (default: postgres)")
    args = parser.parse_args(argv)
    location = os.environ.get("NEWSFLOW_WAREHOUSE", "").strip()
    dsn = catalog_dsn(location)
    if dsn is not None:
        from psycopg2.extensions import parse_dsn

        created = ensure_database(dsn, args.maintenance_db)
        # the database's name only: the location may carry a password
        print(f"catalog database {parse_dsn(dsn)['dbname']}: {'created' if created else 'already there'}", flush=True)
    # imported after the argument check: `--help` and a bad catalog location answer without loading DuckDB
    from newsflow.warehouse import open_for_write

    open_for_write().close()
    print("warehouse migrated", flush=True)


if __name__ == "__main__":
    main()
