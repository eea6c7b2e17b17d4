"""HTML -> raw article fields, layer by layer, recording which layer produced each field.

One module per concern, Fundus-style:

- load: bytes -> one parsed tree (encoding, control bytes), the `Page`
- structured: JSON-LD, microdata, meta (what the page states about itself)
- kant: kant.kg's own layout, a parser class per layout version
- generic: page-structure heuristics for markup no rule knows
- classify: article or not (listings, search, error pages -> None)
- chain: each field through the layers, best first; `extract_raw`, `explain_raw`
"""

from kantkg.extract.chain import explain_raw, extract_raw, load_page
from kantkg.extract.load import Page, parse
from kantkg.extract.text import text_blocks
from kantkg.extract.title import strip_site_name

__all__ = [
    "Page",
    "explain_raw",
    "extract_raw",
    "load_page",
    "parse",
    "strip_site_name",
    "text_blocks",
]
