"""Number formatting for published tables, in one place (private module).

Every function takes the journal style (:class:`~crisis_survey.present._style.TableStyle`,
chosen in the plan as ``[present] style``); APA 7th edition by default: p-values to three
decimals without a leading zero and ``< .001`` below that; statistics that cannot exceed 1
in absolute value (correlations, rank-biserial r, proportions, differences in proportions,
Cramér's V) without a leading zero; other statistics to two decimals; a minus sign (U+2212)
for negative numbers; thousands separated by commas in counts. The medical style keeps
leading zeros, writes ``<0.001`` and intervals as ``(low to high)``. Test statistics are
formatted by their kind in the registry (:data:`~crisis_survey.stats.STATISTICS`): rank
sums and counts as whole numbers (a rank sum with midranks to one decimal), t, z and
chi-square to two decimals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

from ..stats._registry import STATISTICS, effect_spec
from ._style import TableStyle, table_style

__all__ = [
    "MINUS",
    "MISSING",
    "bounded_measure",
    "excel_number",
    "format_count",
    "format_estimate_ci",
    "format_number",
    "format_p",
    "format_percent",
    "format_statistic",
    "plain_csv",
    "split_numbers",
    "statistic_symbol",
]

#: A non-breaking space: ``V = 1,494`` never wraps between its symbol and value.
NBSP: Final = "\u00a0"

#: What a value that does not exist (no test was run) shows.
MISSING: Final = "—"
#: The minus sign used in published numbers (typographic, not the hyphen).
MINUS: Final = "\u2212"

_BOUNDED_WORDS: Final = (
    "correlation", "rank-biserial", "rank biserial", "biserial", "cramér", "cramer",
    "phi", "tau", "kendall", "spearman", "proportion", "cliff", "gamma",
)


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def bounded_measure(measure: str | None) -> bool:
    """Whether an effect measure cannot exceed 1 in absolute value (APA: no leading zero).

    Examples
    --------
    >>> bounded_measure("matched-pairs rank-biserial r"), bounded_measure("Cohen's d_z")
    (True, False)
    """
    if not measure:
        return False
    spec = effect_spec(measure)
    if spec is not None:
        return spec.bounded
    text = measure.casefold()
    return text in {"r", "v", "w"} or any(word in text for word in _BOUNDED_WORDS)


def format_number(
    value: float | None, digits: int = 2, *, leading_zero: bool = True, grouping: bool = True
) -> str:
    """A number rounded to ``digits`` decimals, with a typographic minus.

    Parameters
    ----------
    value
        The number (``None``/NaN shows as an em dash).
    digits
        Decimals shown.
    leading_zero
        ``False`` for statistics that cannot exceed 1 in absolute value (APA 7, 6.36).
    grouping
        Separate thousands with commas (APA 7, 6.38).

    Returns
    -------
    str

    Examples
    --------
    >>> format_number(-0.4567), format_number(0.4567, leading_zero=False)
    ('−0.46', '.46')
    >>> format_number(float("nan")), format_number(12345.678, 1)
    ('—', '12,345.7')
    """
    if _missing(value):
        return MISSING
    assert value is not None
    text = f"{value:,.{digits}f}" if grouping else f"{value:.{digits}f}"
    if text.lstrip("-").strip("0.") == "":  # rounds to zero: no negative zero
        text = text.lstrip("-")
    negative = text.startswith("-")
    body = text.lstrip("-")
    if not leading_zero and body.startswith("0."):
        body = body[1:]
    return (MINUS if negative else "") + body


def format_p(p: float | None, *, digits: int | None = None,
             style: str | TableStyle | None = None) -> str:
    """A p-value in APA style: ``< .001``, ``.012``, ``.500``, ``> .999``.

    Parameters
    ----------
    p
        The p-value (``None``/NaN shows as an em dash).
    digits
        Decimals (APA 7: two or three; default: the style's, three).
    style
        The journal style (default APA): medical keeps the leading zero (``0.012``,
        ``<0.001``).

    Returns
    -------
    str

    Notes
    -----
    p is shown exactly to ``digits`` decimals without a leading zero (APA 7, section 6.36).
    Values below ``10**-digits`` show as ``< .001``; values that would round to 1 show as
    ``> .999`` (a p-value is never reported as 1).

    Examples
    --------
    >>> [format_p(p) for p in (0.0004, 0.001, 0.0123, 0.05, 0.9996)]
    ['< .001', '.001', '.012', '.050', '> .999']
    >>> [format_p(p, style="medical") for p in (0.0004, 0.0123, 0.9996)]
    ['<0.001', '0.012', '>0.999']
    """
    if _missing(p):
        return MISSING
    assert p is not None
    st = table_style(style)
    digits = st.p_digits if digits is None else digits
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a p-value lies between 0 and 1; got {p!r}")
    zero = "0" if st.leading_zero else ""
    gap = st.p_prefix[1:]  # "< " keeps its space, "<" has none
    smallest = 10.0 ** (-digits)
    if p < smallest:
        return st.p_prefix + zero + f"{smallest:.{digits}f}"[1:]
    text = f"{p:.{digits}f}"
    if float(text) >= 1.0:
        return ">" + gap + zero + "." + "9" * digits
    return zero + text[1:]


def format_count(n: int | float | None) -> str:
    """A count with thousands separators (``1,234``)."""
    if _missing(n if n is None else float(n)):
        return MISSING
    assert n is not None
    return f"{int(n):,}"


def format_percent(pct: float | None, digits: int = 1) -> str:
    """A percentage (0-100) to ``digits`` decimals, without the % sign.

    Examples
    --------
    >>> format_percent(12.345), format_percent(100.0)
    ('12.3', '100.0')
    """
    return format_number(pct, digits)


def format_estimate_ci(
    estimate: float | None,
    low: float | None,
    high: float | None,
    digits: int = 2,
    *,
    leading_zero: bool = True,
    style: str | TableStyle | None = None,
) -> str:
    """An estimate with its confidence interval: ``0.35 [0.12, 0.58]`` (APA) or
    ``0.35 (0.12 to 0.58)`` (medical).

    Parameters
    ----------
    estimate, low, high
        The estimate and its interval; a missing bound gives the estimate alone.
    digits
        Decimal places.
    leading_zero
        ``False`` for quantities that cannot exceed 1 (APA: ``.35``); a style that keeps
        leading zeros (medical) keeps them regardless.
    style
        The journal style (default APA).

    Returns
    -------
    str
        With typographic minus signs; ``"—"`` when the estimate is missing.

    Examples
    --------
    >>> format_estimate_ci(-0.2, -0.41, 0.013)
    '−0.20 [−0.41, 0.01]'
    >>> format_estimate_ci(0.31, 0.1, None, leading_zero=False)
    '.31'
    >>> format_estimate_ci(0.31, -0.1, 0.5, leading_zero=False, style="medical")
    '0.31 (−0.10 to 0.50)'
    """
    st = table_style(style)
    leading_zero = leading_zero or st.leading_zero
    head = format_number(estimate, digits, leading_zero=leading_zero)
    if head == MISSING or _missing(low) or _missing(high):
        return head
    lo = format_number(low, digits, leading_zero=leading_zero)
    hi = format_number(high, digits, leading_zero=leading_zero)
    return st.interval(head, lo, hi)


def statistic_symbol(name: str | None) -> str:
    """The printed symbol of a test statistic (``"X-squared"`` -> ``"χ²"``), from the
    registry; an unknown name prints as given.

    Examples
    --------
    >>> statistic_symbol("X-squared"), statistic_symbol("V"), statistic_symbol("Q")
    ('χ²', 'V', 'Q')
    """
    if not isinstance(name, str):
        return ""
    spec = STATISTICS.get(name)
    return spec.symbol if spec is not None and spec.symbol else name


def statistic_digits(name: str | None, value: float) -> int:
    """Decimals a statistic is printed with, by its kind in the registry: rank sums 0 (1
    when midranks make the sum a half), counts 0, t/z/chi-square their ``decimals`` (2)."""
    spec = STATISTICS.get(name) if isinstance(name, str) else None
    if spec is None:
        return 2
    if spec.kind == "rank_sum":
        return 0 if float(value).is_integer() else 1
    if spec.kind == "count":
        return 0
    return spec.decimals


def format_statistic(name: str | None, value: float | None, df: float | None = None,
                     *, symbol: bool = True) -> str:
    """A test statistic formatted by its kind: ``V = 1,493.5``, ``χ²(1) = 3.84``, ``t(377.4) =
    −3.75`` (a non-breaking space around ``=`` so the cell never wraps inside it).

    Parameters
    ----------
    name
        ``TestResult.statistic_name`` (a key of :data:`~crisis_survey.stats.STATISTICS`).
    value, df
        The statistic and its degrees of freedom (``None``/NaN: none).
    symbol
        Prefix the symbol (``V =``); ``False`` gives the number alone.

    Examples
    --------
    >>> format_statistic("V", 1493.5), format_statistic("W", 47108.0)
    ('V\xa0=\xa01,493.5', 'W\xa0=\xa047,108')
    >>> format_statistic("X-squared", 3.8415, 1), format_statistic("t", -3.751, 377.43)
    ('χ²(1)\xa0=\xa03.84', 't(377.4)\xa0=\xa0−3.75')
    >>> format_statistic("V", float("nan"))
    '—'
    """
    if _missing(value):
        return MISSING
    assert value is not None
    spec = STATISTICS.get(name) if isinstance(name, str) else None
    if spec is not None and spec.kind == "none":
        return MISSING
    number = format_number(value, statistic_digits(name, value))
    if not symbol:
        return number
    sym = statistic_symbol(name)
    if not _missing(df):
        assert df is not None
        sym = f"{sym}({format_number(df, 0 if float(df).is_integer() else 1)})"
    return f"{sym}{NBSP}={NBSP}{number}" if sym else number


_NUM = r"[−-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?"
_SHAPES: Final = (
    # (pattern, labels of the numbers)
    (re.compile(rf"^({_NUM}) \(({_NUM})\)$"), ("n", "%")),
    (re.compile(rf"^({_NUM}) \[({_NUM}), ({_NUM})\]$"), ("", "low", "high")),
    (re.compile(rf"^({_NUM}) \(({_NUM}) to ({_NUM})\)$"), ("", "low", "high")),
    (re.compile(rf"^({_NUM}) / ({_NUM})$"), ("wave 1", "wave 2")),
    (re.compile(rf"^({_NUM})$"), ("",)),
)


def excel_number(text: str) -> tuple[float, str] | None:
    """A formatted number read back with the Excel number format that shows it the same
    way: ``"1,493.5"`` -> ``(1493.5, "#,##0.0")``, ``".29"`` -> ``(0.29, ".00")``,
    ``"−0.46"`` -> ``(-0.46, "0.00")``; ``None`` when ``text`` is not one number.

    Examples
    --------
    >>> excel_number("1,493.5"), excel_number(".012"), excel_number("12")
    ((1493.5, '#,##0.0'), (0.012, '.000'), (12.0, '0'))
    >>> excel_number("−.29"), excel_number("[c]")
    ((-0.29, '.00'), None)
    """
    plain = text.replace(MINUS, "-")
    if not re.fullmatch(_NUM, plain) or not any(ch.isdigit() for ch in plain):
        return None
    body = plain.lstrip("-")
    whole, _, decimals = body.partition(".")
    head = ("#,##0" if "," in whole else "0") if whole else ""
    fmt = head + ("." + "0" * len(decimals) if decimals else "")
    if not whole and not decimals:
        return None
    return float(plain.replace(",", "")), fmt


def split_numbers(text: str) -> tuple[str, list[tuple[float, str]], tuple[str, ...]] | None:
    """The numbers a display cell shows, for a spreadsheet: ``(symbol, [(number, Excel
    format), ...], labels)``, or ``None`` when the cell shows no number as a number
    (a marker such as ``[c]``, ``< .001``, or words).

    A symbol before ``=`` (``"V = 1,493.5"``, ``"r = .29 [.06, .47]"``) is returned apart;
    the shapes read are a number, ``n (%)``, an estimate with its interval in either
    style, and ``n1 / n2``.

    Examples
    --------
    >>> split_numbers("65 (48.1)")
    ('', [(65.0, '0'), (48.1, '0.0')], ('n', '%'))
    >>> split_numbers("r\u00a0=\u00a0−.29 [−.49, .06]")
    ('r', [(-0.29, '.00'), (-0.49, '.00'), (0.06, '.00')], ('', 'low', 'high'))
    >>> split_numbers("< .001") is None, split_numbers("[c]") is None
    (True, True)
    """
    symbol = ""
    body = text.replace(NBSP, " ").strip()
    if " = " in body:
        symbol, _, body = body.partition(" = ")
    for pattern, labels in _SHAPES:
        m = pattern.match(body.replace(MINUS, "-"))
        if m is None:
            continue
        numbers = [excel_number(g) for g in m.groups()]
        if any(n is None for n in numbers):
            return None
        return symbol, [n for n in numbers if n is not None], labels
    return None


#: What every withheld value shows in a CSV file (counts and the values derived from them
#: alike), so a reader parses the numbers with ``pd.read_csv(path, na_values=["[c]"])``.
CSV_WITHHELD: Final = "[c]"
#: Decimals of each kind of number in the CSV files (p-values: significant digits).
CSV_PRECISION: Final[dict[str, int]] = {"count": 0, "percent": 1, "estimate": 3, "p": 3}


def _plain_cell(value: Any, kind: str, withheld: tuple[str, ...]) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        text = value.strip()
        if text in withheld:
            return CSV_WITHHELD
        plain = text.replace(",", "").replace(MINUS, "-")
        if re.fullmatch(r"-?\d+", plain):
            return int(plain)
        if re.fullmatch(r"-?\d*\.\d+", plain):
            value = float(plain)
        else:
            return value  # words, labels, p-value bands
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    number = float(value)
    if kind == "p":
        return float(f"{number:.{CSV_PRECISION['p']}g}")
    digits = CSV_PRECISION[kind]
    if digits == 0 or (kind == "count" and number.is_integer()):
        return round(number)
    out = round(number, digits)
    return 0.0 if out == 0 else out  # no "-0.0"


def plain_csv(frame: pd.DataFrame, kinds: Mapping[str, str] | None = None,
              withheld: tuple[str, ...] = ("[c]", "–")) -> pd.DataFrame:
    """A published frame with plain numbers for a CSV file: counts as whole numbers without
    thousands separators (``"1,071"`` -> ``1071``), other numbers rounded to the stated
    precision (:data:`CSV_PRECISION`: percentages 1 decimal, estimates 3, p-values 3
    significant digits), every withheld value as :data:`CSV_WITHHELD`, missing values
    empty; text (labels, p-value bands such as ``< .05``) unchanged.

    Parameters
    ----------
    frame
        The frame as published (display strings or numbers).
    kinds
        Column -> ``"count"``, ``"percent"``, ``"estimate"`` or ``"p"``; other columns
        holding numbers are estimates.
    withheld
        The display markers of withheld values.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"n": ["1,071", "[c]"], "pct": [30.612244897959183, "–"],
    ...                   "p": [1.7512e-07, "< .05"], "test": ["Mann–Whitney U test", None]})
    >>> out = plain_csv(f, {"n": "count", "pct": "percent", "p": "p"}).to_dict("list")
    >>> out["n"], out["pct"], out["p"], out["test"]
    ([1071, '[c]'], [30.6, '[c]'], [1.75e-07, '< .05'], ['Mann–Whitney U test', ''])
    """
    kinds = kinds or {}
    out = frame.copy()
    for j, name in enumerate(out.columns):
        kind = kinds.get(str(name), "estimate")
        out.isetitem(j, [_plain_cell(v, kind, withheld) for v in out.iloc[:, j]])
    return out
