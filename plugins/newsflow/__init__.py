"""newsflow: news pages to a DuckDB warehouse through Airflow 3."""
__version__ = "0.2.0"
