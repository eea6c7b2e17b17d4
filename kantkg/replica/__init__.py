"""A loopback replica of kant.kg for the demo, the tests and the benchmarks.

    from kantkg.replica import Replica
    with Replica(articles=60, seed=7) as site:
        site.base_url, site.truth(), site.seed_article

`kantkg replica --port N --articles N` serves one from the command line. It serves N
generated articles plus the one real article we have (the seed) at its real path.

`Replica(removed=K)` takes K generated articles off the live site (404, in no listing);
the replica's web archive (/webarchive/, Common Crawl's CDX API and WARC files, see
webarchive.py) still holds them: `site.removed_paths`, `site.removed_truth()`.
"""

from kantkg.replica.corpus import MARKUPS, ArticleTruth, Corpus
from kantkg.replica.server import Replica, run
from kantkg.replica.webarchive import Capture, WebArchive

__all__ = ["MARKUPS", "ArticleTruth", "Capture", "Corpus", "Replica", "WebArchive", "run"]
