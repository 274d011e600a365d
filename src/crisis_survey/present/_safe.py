"""Safe files: cell neutralisation, escaping, offline HTML and the staged output folder
(private module).

Every writer of :mod:`crisis_survey.present` goes through these few functions, so a label,
an area or a value from the data or the codebook is inert wherever it is written:

- :func:`neutral_cell` / :func:`write_csv`: a spreadsheet cell that starts with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is prefixed with a single quote (OWASP, "CSV
  injection"), so Excel or LibreOffice never runs it as a formula; a genuine number such as
  ``-0.25`` is left as it is.
- :func:`markdown_escape`, :func:`latex_escape` and :func:`html.escape`: text is text in
  every markup language; no link, image or tag is ever taken from the data.
- :func:`assert_offline`: the HTML report refers to nothing outside itself (only ``#``
  fragments and ``data:`` URIs); checked on the finished page before it is written.
- :func:`staged_folder`: the release is written into a temporary folder beside ``--out`` and
  moved into place only when it is complete; ``--out`` must be absent, empty or a previous
  output of crisis_survey (recognised by its manifest), which is replaced whole.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import CrisisSurveyError
from ._manifest import MANIFEST_NAME

__all__ = [
    "OutputFolderError",
    "assert_offline",
    "latex_escape",
    "markdown_escape",
    "neutral_cell",
    "neutral_frame",
    "staged_folder",
    "write_csv",
]


# -- spreadsheet cells ------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutral_cell(value: Any) -> Any:
    """``value`` as a spreadsheet cell that can never run as a formula.

    Text starting with ``= + - @``, a tab or a carriage return gets a leading single quote
    (as OWASP recommends against CSV injection); numbers, and text that is exactly a number
    (``"-0.25"``, ``"+3"``), are left unchanged so they stay numeric.

    Examples
    --------
    >>> neutral_cell('=HYPERLINK("http://x","y")'), neutral_cell("@SUM(A1)")
    ('\\'=HYPERLINK("http://x","y")', "'@SUM(A1)")
    >>> neutral_cell("-0.25"), neutral_cell(-3), neutral_cell("Carer")
    ('-0.25', -3, 'Carer')
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) \
            and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _neutral_index(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return index.set_levels([list(lv.map(neutral_cell)) for lv in index.levels])
    if index.dtype == object or pd.api.types.is_string_dtype(index.dtype):
        return index.map(neutral_cell)
    return index


def neutral_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell, column label and row label neutralised
    (:func:`neutral_cell`); numeric columns are untouched."""
    out = frame.copy()
    for j in range(out.shape[1]):
        col = out.iloc[:, j]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype) \
                or isinstance(col.dtype, pd.CategoricalDtype):
            out.isetitem(j, col.astype(object).map(neutral_cell).to_numpy(dtype=object))
    out.columns = _neutral_index(out.columns)
    out.index = _neutral_index(out.index)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, *, index: bool = True) -> Path:
    """Write ``frame`` as UTF-8 CSV with ``\\n`` line ends, every cell neutralised.

    Every CSV the library publishes is written by this function.
    """
    p = Path(path)
    neutral_frame(frame).to_csv(p, lineterminator="\n", index=index)
    return p


# -- markup -------------------------------------------------------------------------------------
# Markdown markup a text could start, and what keeps it text. A backslash escapes the
# characters every Markdown dialect escapes (CommonMark, GFM, Python-Markdown); the others
# become character references, which every dialect shows as the character and none reads as
# markup. Only what can form markup is touched, so an ordinary label (``p < .001``, ``[c]``,
# ``n_1``) reads as it is.
_MD_RULES: tuple[tuple[re.Pattern[str], Callable[[str], str]], ...] = (
    (re.compile(r"[\\`*|]"), lambda c: "\\" + c),  # code, emphasis, table cells
    (re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])"), lambda c: "\\_"),  # not snake_case
    (re.compile(r"(?<=\])\("), lambda c: "\\("),  # [text](url) and ![alt](src)
    (re.compile(r"&(?=#?[0-9A-Za-z]+;)"), lambda c: "&amp;"),  # &#106;avascript
    (re.compile(r"<(?=[A-Za-z/!?])"), lambda c: "&lt;"),  # raw HTML and <autolinks>
    (re.compile(r"~"), lambda c: "&#126;"),  # ~~strikethrough~~
    # GFM's autolinks: scheme://, www. and e-mail addresses
    (re.compile(r"(?i)(?<=[a-z0-9]):(?=//)|(?<=\bwww)\.|(?<=\w)@(?=\w)"),
     lambda c: f"&#{ord(c)};"),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def markdown_escape(text: str) -> str:
    r"""``text`` as literal Markdown: it renders as itself, never as a link, image or tag.

    Line breaks and other control characters become a space (a table row is one line).

    Examples
    --------
    >>> print(markdown_escape("[x](javascript:alert(1)) ![i](//h/p.png) <b>"))
    [x]\(javascript:alert(1)) ![i]\(//h/p.png) &lt;b>
    >>> print(markdown_escape("see https://x.org, www.x.org; p < .001 [c] n_1 *"))
    see https&#58;//x.org, www&#46;x.org; p < .001 [c] n_1 \*
    """
    out = _CONTROL.sub(" ", text)
    for rule, replace in _MD_RULES:
        out = rule.sub(lambda m, r=replace: r(m.group(0)), out)  # type: ignore[misc]
    return out


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    # ``\\`` looks ahead for ``[`` and ``*``: braced, a cell can never start either
    "[": "{[}", "]": "{]}", "*": "{*}",
}
_LATEX_UNICODE = {
    "\u2212": "$-$", "–": "--", "—": "---", "χ": r"$\chi$", "²": r"\textsuperscript{2}",
    "Δ": r"$\Delta$", "≤": r"$\leq$", "≥": r"$\geq$", "é": r"\'e", "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters and map the few non-ASCII symbols used.

    Control characters (a line break, a tab) become a space, so no text from the data can
    end a paragraph or a table row, or run a command.

    Examples
    --------
    >>> latex_escape("50% of n_1 < .001 & χ²")
    '50\\\\% of n\\\\_1 \\\\textless{} .001 \\\\& $\\\\chi$\\\\textsuperscript{2}'
    >>> latex_escape("[c] \\\\input{x}")
    '{[}c{]} \\\\textbackslash{}input\\\\{x\\\\}'
    """
    out = []
    for ch in _CONTROL.sub(" ", text):
        if ch in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[ch])
        elif ch in _LATEX_UNICODE:
            out.append(_LATEX_UNICODE[ch])
        else:
            out.append(ch)
    return "".join(out)


# -- offline HTML -----------------------------------------------------------------------------
_URL_ATTRIBUTES = {
    "src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data",
    "background", "cite", "longdesc", "ping", "manifest", "codebase", "lowsrc", "dynsrc",
    "imagesrcset", "icon", "profile", "usemap", "archive", "classid",
}
_FORBIDDEN_TAGS = {"script", "iframe", "frame", "object", "embed", "link", "base", "applet",
                   "form", "audio", "video", "source", "track", "portal", "meta"}
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]*)\1\s*\)|@import", re.I)


#: A file of the report's own folder that a link (``<a href>``, which loads nothing by
#: itself) may open: a bare name or one under ``tables/`` or ``figures/``, lower-case
#: letters, digits and underscores, with an extension of the files the report writes. No
#: scheme, no host, no ``..``, no query: it can only name a file beside the report.
SIBLING_FILE = re.compile(r"(?:(?:tables|figures)/)?[a-z0-9_]+\.(?:json|csv|xlsx|md|tex|docx"
                          r"|html|svg|png|pdf)")


def _local(url: str) -> bool:
    u = url.strip()
    return u.startswith("#") or u.lower().startswith("data:")


def sibling_link(name: str, text: str | None = None) -> str:
    """An escaped ``<a href>`` to the file ``name`` beside the report (raises unless
    ``name`` is a :data:`SIBLING_FILE`: the target never comes from data).

    >>> sibling_link("manifest.json")
    '<a href="manifest.json"><code>manifest.json</code></a>'
    >>> sibling_link("https://example.org/x.json")
    Traceback (most recent call last):
    ...
    crisis_survey._errors.CrisisSurveyError: not a file of the report's folder: 'https://example.org/x.json'
    """
    if not SIBLING_FILE.fullmatch(name):
        raise CrisisSurveyError(f"not a file of the report's folder: {name!r}")
    shown = html.escape(text) if text is not None else f"<code>{html.escape(name)}</code>"
    return f'<a href="{html.escape(name)}">{shown}</a>'


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _FORBIDDEN_TAGS and not (tag == "meta" and dict(attrs).keys() <= {"charset"}):
            self.found.append(f"a <{tag}> element")
        self._style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if (name in _URL_ATTRIBUTES and not _local(value)
                    and not (tag == "a" and name == "href" and SIBLING_FILE.fullmatch(value))):
                self.found.append(f"<{tag} {name}={value[:60]!r}>")
            elif name.startswith("on"):
                self.found.append(f"an event handler <{tag} {name}=...>")
            elif name == "style":
                self._css(value, tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._style = False

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, data: str) -> None:
        if self._style:
            self._css(data, "style")

    def _css(self, css: str, where: str) -> None:
        for m in _CSS_URL.finditer(css):
            if m.group(0).lower() == "@import" or not _local(m.group(2)):
                self.found.append(f"{m.group(0)[:60]!r} in <{where}>")


def remote_references(page: str) -> list[str]:
    """What in the HTML ``page`` would load or run anything: every ``src``/``href``-like
    attribute that is not a ``#fragment`` or a ``data:`` URI (or a link, ``<a href>``, to a
    :data:`SIBLING_FILE` of the report's folder), CSS ``url()``/``@import``,
    event handlers and elements such as ``<script>``, ``<iframe>`` or ``<link>``."""
    parser = _Refs()
    parser.feed(page)
    parser.close()
    return parser.found


def assert_offline(page: str, what: str = "the HTML report") -> str:
    """Return ``page`` if it refers to nothing outside itself, else raise.

    Examples
    --------
    >>> assert_offline('<p><a href="#s1">1</a></p>')
    '<p><a href="#s1">1</a></p>'
    >>> remote_references('<img src="//host/pixel.png"><a href="javascript:x()">a</a>')
    ["<img src='//host/pixel.png'>", "<a href='javascript:x()'>"]
    """
    found = remote_references(page)
    if found:
        raise CrisisSurveyError(f"{what} was not written (please report this as a bug): it "
                                f"would load {', '.join(dict.fromkeys(found))}")
    return page


# -- the output folder ------------------------------------------------------------------------
class OutputFolderError(CrisisSurveyError):
    """``--out`` is not a folder crisis_survey may write (or replace)."""


def _previous_output(folder: Path) -> set[str] | None:
    """The files a previous run listed in ``folder``'s manifest, or None if it has none."""
    manifest = folder / MANIFEST_NAME
    if manifest.is_symlink() or not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or "manifest_version" not in data \
            or not isinstance(data.get("outputs"), dict):
        return None
    return {str(k) for k in data["outputs"]} | {MANIFEST_NAME}


def check_out_folder(out: str | Path) -> Path:
    """Check that ``out`` may be written: absent, an empty folder, or a previous output.

    A previous output is a folder whose ``manifest.json`` was written by crisis_survey and
    lists every file in it; it will be replaced whole. A symbolic link (``out`` itself or
    anything inside it) is never followed: it is refused. Raises
    :class:`OutputFolderError` naming what is in the way.
    """
    folder = Path(out)
    if folder.is_symlink():
        raise OutputFolderError(f"--out {folder} is a symbolic link (expected a folder; links "
                                "are never followed)")
    if not folder.exists():
        return folder
    if not folder.is_dir():
        raise OutputFolderError(f"--out {folder} is a file (expected a folder, or a path "
                                "where one can be made)")
    entries = _entries(folder)
    if not entries:
        return folder
    links = [p for p in entries if p.is_symlink()]
    if links:
        raise OutputFolderError(
            f"--out {folder} holds symbolic links ({', '.join(_rel(p, folder) for p in links[:5])}"
            "); links are never followed: choose an empty or new folder")
    listed = _previous_output(folder)
    if listed is None:
        raise OutputFolderError(
            f"--out {folder} is not empty and is not an output of crisis_survey (it has no "
            f"{MANIFEST_NAME} written by crisis_survey); choose an empty or new folder, so "
            "no file of yours is overwritten")
    foreign = [_rel(p, folder) for p in entries if p.is_file() and _rel(p, folder) not in listed]
    if foreign:
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        raise OutputFolderError(
            f"--out {folder} is an earlier output of crisis_survey, but holds files its "
            f"manifest does not list ({', '.join(foreign[:5])}{more}); it would be replaced "
            "whole, so move them first or choose another folder")
    return folder


def _entries(folder: Path) -> list[Path]:
    """Every file, folder and link under ``folder`` (links listed, never followed)."""
    found: list[Path] = []
    for here, dirs, files in os.walk(folder, followlinks=False):
        found += [Path(here) / name for name in (*dirs, *files)]
    return sorted(found)


def _rel(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


@contextlib.contextmanager
def staged_folder(out: str | Path) -> Iterator[Path]:
    """Write a release into a temporary folder beside ``out``; move it into place at the end.

    Yields the temporary folder (made beside ``out``, on the same file system). When the
    block ends without an error, ``out`` (checked by :func:`check_out_folder`) is replaced
    by it whole: nothing from an earlier run is left. When the block raises, the temporary
    folder is removed and ``out`` is left as it was, so a crash or a full disk never leaves a
    truncated file under a final name.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = Path(tmp) / "out"
    ...     with staged_folder(out) as stage:
    ...         _ = (stage / "a.txt").write_text("a")
    ...         print(out.exists())
    ...     print(sorted(p.name for p in out.iterdir()))
    False
    ['a.txt']
    """
    folder = check_out_folder(out)
    parent = folder.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=parent))
    mask = os.umask(0o077)
    os.umask(mask)
    os.chmod(stage, 0o777 & ~mask)  # the permissions ``mkdir out`` would have given
    try:
        yield stage
        check_out_folder(folder)  # nothing has appeared there meanwhile
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old: Path | None = None
    if folder.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=parent))
        os.replace(folder, old / folder.name)
    try:
        os.replace(stage, folder)
    except BaseException:
        if old is not None:  # put the earlier output back
            os.replace(old / folder.name, folder)
            old.rmdir()
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old)
