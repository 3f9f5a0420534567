"""Extraction quality on the test site's pages: share of the body kept, share of chrome leaked.

Serves tests/support/news_site.py on 127.0.0.1, fetches every page through the real
fetcher and extractor, and compares the text with what the page's author wrote:

- body kept: the share of body sentences found in the extracted text;
- chrome leaked: the share of chrome snippets (menu, ticker, related links, comments,
  footer) found in it;
- ZWNJ kept: U+200C in the extracted text / U+200C in the body.

Run: python -m bench.extraction [--recall]   (--recall: trafilatura's favor_recall mode
instead of favor_precision, to compare)
"""

from __future__ import annotations

import argparse
import re

import trafilatura

from index.fetching import Fetcher, FetchSettings
from index.web_articles import decode_html, extract_article, persian_letters
from tests.support import news_site as site_module


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!؟?])\s+|\n", text) if len(s.strip()) > 8]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recall", action="store_true", help="favor recall, not precision")
    args = parser.parse_args()
    site = site_module.NewsSite()
    articles = list(site_module.ARTICLES) + [site_module.numbered_article(n) for n in range(6)]
    totals = {"body": 0, "kept": 0, "chrome": 0, "leaked": 0, "zwnj": 0, "zwnj_kept": 0}
    raw_zwnj = 0  # trafilatura alone, without the ZWNJ mending
    print(f"{'page':<32} {'body kept':>10} {'chrome leaked':>14} {'ZWNJ kept':>10}")
    with Fetcher(FetchSettings(host_delay=0, backoff=0, allow_private=True)) as fetcher:
        for article in articles:
            url = site.add_page(article)
            result = fetcher.fetch(url, html_only=True)
            html, encoding = decode_html(result.content, result.charset)
            html = persian_letters(html, encoding)
            text = extract_article(html, result.url, favor_precision=not args.recall).text
            flat = " ".join(text.split())
            body = sentences(article.body)
            kept = sum(1 for s in body if " ".join(s.split()) in flat)
            leaks = [c for c in site_module.CHROME if c in flat]
            leaked = len(leaks)
            zwnj = article.body.count("\u200c")
            zwnj_kept = min(text.count("\u200c"), zwnj)
            raw_zwnj += min((trafilatura.extract(html) or "").count("\u200c"), zwnj)
            for key, value in zip(
                totals,
                (len(body), kept, len(site_module.CHROME), leaked, zwnj, zwnj_kept),
                strict=True,
            ):
                totals[key] += value
            print(
                f"{article.slug[:32]:<32} {kept:>4}/{len(body):<5} "
                f"{leaked:>7}/{len(site_module.CHROME):<6} {zwnj_kept:>4}/{zwnj:<5}"
                + (f"  leaked: {' | '.join(leaks)}" if leaks else "")
            )
    site.close()
    mode = "favor_recall" if args.recall else "favor_precision"
    print(
        f"\n{len(articles)} pages ({mode}): body kept {totals['kept'] / totals['body']:.1%} "
        f"({totals['kept']}/{totals['body']} sentences), chrome leaked "
        f"{totals['leaked'] / totals['chrome']:.1%} ({totals['leaked']}/{totals['chrome']} "
        f"snippets), ZWNJ kept {totals['zwnj_kept'] / max(totals['zwnj'], 1):.1%} "
        f"(trafilatura alone: {raw_zwnj / max(totals['zwnj'], 1):.1%})"
    )


if __name__ == "__main__":
    main()
