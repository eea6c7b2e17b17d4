"""Crawl operations: running a crawl (process), finding what to fetch (discovery,
incremental), being polite and patient (retry), judging a run (outcome), and what runs
around it (lock, logs, workers, reparse). Scrapy itself stays in spiders/ and pipelines/;
only process.py starts it."""
