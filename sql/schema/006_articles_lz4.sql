-- The articles' Parquet files are written with LZ4 instead of DuckLake's default Snappy: about the same size
-- (2,149 against 2,079 MiB for the 1M synthetic bodies), and reading every body, what term_coverage does for the
-- articles it cannot answer from article_terms, takes 2.7 s instead of 4.3 s (docs/benchmarks.md). Files written
-- before keep Snappy until a compaction rewrites them; DuckDB reads both.
call lake.set_option('parquet_compression', 'lz4', table_name => 'articles');
