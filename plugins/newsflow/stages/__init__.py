"""The stages of a news_ingest / news_reprocess run, one module each (plan, discover, fetch_extract, validate,
load, account, reprocess); every stage takes the run's typed `Job` for one source and returns it with its counts.
"""
