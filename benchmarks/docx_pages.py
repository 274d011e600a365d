"""Where LibreOffice breaks the pages of a Word file: the page of every table row, caption,
notes paragraph and picture, and the breaks a typesetter would send back.

Not a timing: a layout check, run by hand on a report (LibreOffice is not needed by the
tests, which read the XML: tests/test_docx_pages.py). It runs under the Python that
LibreOffice's UNO bridge belongs to, not the project's virtual environment::

    /usr/bin/python3 benchmarks/docx_pages.py out/report.docx [more.docx ...]

It starts its own headless ``soffice`` (a user profile of its own under /tmp), opens each
file as the interactive program does, writes ``<name>.probe.pdf`` beside it (the same
layout, to look at) and prints, per table that spans pages, the body rows on each page, then
one summary line::

    summary report.docx: 24 pages; tails 0, heads 0, captions 0, notes 0, figure captions 0

- tail: the last page of a table holds fewer than 3 of its body rows;
- head: the first page of a table that breaks holds fewer than 3 of its body rows;
- caption / figure caption: on another page than the table's first row / the picture;
- notes: a table's notes (the "Note." paragraph after it, or its last row when it holds
  them) on another page than its last body row.

``soffice --convert-to pdf`` can lay out the same file a little differently (the count of
lines that fit a page is the same, where a keep is honoured can differ): look at its PDF as
well (docs/tables-and-figures.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from typing import Any

EDGE = 3  # present/_word.py EDGE_ROWS
PORT = "2119"


def _connect() -> tuple[Any, Any]:
    sys.path.insert(0, "/usr/lib/libreoffice/program")
    import uno  # LibreOffice's own module

    proc = subprocess.Popen(
        ["soffice", "-env:UserInstallation=file:///tmp/docx_pages_profile", "--headless",
         "--invisible", "--norestore", f"--accept=socket,host=localhost,port={PORT};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(120):
        try:
            ctx = resolver.resolve(
                f"uno:socket,host=localhost,port={PORT};urp;StarOffice.ComponentContext")
            break
        except Exception:  # not listening yet
            time.sleep(0.5)
    else:
        proc.terminate()
        raise SystemExit("soffice did not start")
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    return proc, desktop


def _items(doc: Any) -> list[tuple[str, str, Any]]:
    """The body in order: ("p", text, page), ("pic", "", page), ("table", caption-less
    name, (header rows, [page of each body row])), a notes row as a ("p", "Note. ...")."""
    view = doc.getCurrentController().getViewCursor()

    def page(rng: Any) -> int:
        view.gotoRange(rng, False)
        return int(view.getPage())

    items: list[tuple[str, str, Any]] = []
    paragraphs = doc.getText().createEnumeration()
    while paragraphs.hasMoreElements():
        el = paragraphs.nextElement()
        if el.supportsService("com.sun.star.text.TextTable"):
            first: dict[int, str] = {}
            for name in el.getCellNames():
                m = re.match(r"[A-Z]+(\d+)", name)
                if m and int(m.group(1)) not in first:
                    first[int(m.group(1))] = name
            rows = [first[r] for r in sorted(first)]
            pages = [page(el.getCellByName(n).getText().getStart()) for n in rows]
            header = el.getPropertyValue("HeaderRowCount") if el.getPropertyValue(
                "RepeatHeadline") else 0
            last = [n for n in el.getCellNames() if re.fullmatch(rf"[A-Z]+{sorted(first)[-1]}", n)]
            notes = len(last) == 1 and el.getCellByName(last[0]).getString().startswith("Note.")
            items.append(("table", el.getName(), (header, pages[:-1] if notes else pages)))
            if notes:
                items.append(("p", "Note. (the table's last row)", pages[-1]))
            continue
        text = el.getString()
        picture = False
        portions = el.createEnumeration()
        while portions.hasMoreElements():
            picture |= portions.nextElement().TextPortionType == "Frame"
        items.append(("pic" if picture and not text.strip() else "p", text, page(el.getStart())))
    return items


def check(desktop: Any, path: str) -> dict[str, int]:
    import uno
    from com.sun.star.beans import PropertyValue

    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(path)),
                                       "_blank", 0, ())
    try:
        pdf = PropertyValue()
        pdf.Name, pdf.Value = "FilterName", "writer_pdf_Export"  # lays out every page
        doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(path)[:-5] + ".probe.pdf"),
                       (pdf,))
        items = _items(doc)
        view = doc.getCurrentController().getViewCursor()
        view.jumpToLastPage()
        counts = {"pages": int(view.getPage()), "tails": 0, "heads": 0, "captions": 0,
                  "notes": 0, "figure captions": 0}
    finally:
        doc.close(True)
    for i, (kind, _, info) in enumerate(items):
        before = items[i - 1] if i else None
        if kind == "pic" and before and before[0] == "p" and before[2] != info:
            counts["figure captions"] += 1
            print(f"  figure caption on p{before[2]}, picture on p{info}: {before[1][:50]!r}")
        if kind != "table":
            continue
        header, pages = info
        body = pages[header:]
        caption = before[1].replace("\n", " ")[:50] if before else ""
        if before and before[0] == "p" and pages and before[2] != pages[0]:
            counts["captions"] += 1
            print(f"  caption on p{before[2]}, table from p{pages[0]}: {caption!r}")
        after = items[i + 1] if i + 1 < len(items) else None
        if after and after[1].startswith("Note.") and body and after[2] != body[-1]:
            counts["notes"] += 1
            print(f"  notes on p{after[2]}, last row on p{body[-1]}: {caption!r}")
        spread = sorted(set(body))
        if len(spread) > 1:
            per_page = {p: body.count(p) for p in spread}
            print(f"  {caption!r}: body rows by page {per_page}")
            counts["tails"] += per_page[spread[-1]] < EDGE
            counts["heads"] += per_page[spread[0]] < EDGE
    return counts


def main(paths: list[str]) -> None:
    proc, desktop = _connect()
    try:
        for path in paths:
            print(path)
            counts = check(desktop, path)
            rest = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "pages")
            print(f"summary {os.path.basename(path)}: {counts['pages']} pages; {rest}")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main(sys.argv[1:] or sys.exit(__doc__))
