"""The floor for a crawl: fetch the same article URLs and do nothing with the responses.

    scrapy runspider bench/bare_spider.py -a urls=FILE -s CONCURRENT_REQUESTS=32 ...
"""

import scrapy


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, urls: str = "", **kwargs):
        super().__init__(**kwargs)
        self.url_file = urls

    async def start(self):
        with open(self.url_file, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield scrapy.Request(line.strip(), callback=self.parse)

    def parse(self, response):
        return None
