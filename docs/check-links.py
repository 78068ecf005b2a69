#!/usr/bin/env python3
"""Fails on a broken link in the built book: every relative href/src of every page must
name a file of the book, and every #anchor an id (or name) on the page it points to.

Usage: check-links.py BOOK_DIR   (the HTML mdbook built, e.g. target/book)
Links with a scheme (https:, mailto:) are not followed: the check works offline.
404.html is left out: mdbook writes its links from the site's root on purpose.
"""
import os
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []  # (line, url)
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if value is None:
                continue
            if key in ("id", "name") and (key == "id" or tag == "a"):
                self.ids.add(value)
            if key in ("href", "src"):
                self.links.append((self.getpos()[0], value))


def read(path, cache):
    if path not in cache:
        page = Page()
        with open(path, encoding="utf-8") as f:
            page.feed(f.read())
        cache[path] = page
    return cache[path]


def main():
    if len(sys.argv) != 2:
        print("usage: check-links.py BOOK_DIR", file=sys.stderr)
        return 2
    root = os.path.abspath(sys.argv[1])
    cache = {}
    broken = []
    pages = 0
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith(".html") or (folder == root and name == "404.html"):
                continue
            path = os.path.join(folder, name)
            pages += 1
            for line, url in read(path, cache).links:
                parts = urlsplit(url)
                if parts.scheme or parts.netloc or url.startswith("/"):
                    continue
                target = path
                if parts.path:
                    target = os.path.normpath(os.path.join(folder, unquote(parts.path)))
                    if os.path.isdir(target):
                        target = os.path.join(target, "index.html")
                    if not target.startswith(root) or not os.path.isfile(target):
                        broken.append(f"{os.path.relpath(path, root)}:{line}: {url}: no such file")
                        continue
                anchor = unquote(parts.fragment)
                if anchor and target.endswith(".html") and anchor not in read(target, cache).ids:
                    broken.append(f"{os.path.relpath(path, root)}:{line}: {url}: no anchor #{anchor}")
    if pages == 0:
        print(f"check-links: no HTML page under {root}", file=sys.stderr)
        return 1
    for b in broken:
        print(f"check-links: {b}", file=sys.stderr)
    if broken:
        print(f"check-links: {len(broken)} broken link(s) in {pages} pages", file=sys.stderr)
        return 1
    print(f"check-links: {pages} pages, no broken link")
    return 0


if __name__ == "__main__":
    sys.exit(main())
