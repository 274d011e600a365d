"""A hostile reader's attacks on the published numbers (issue 11), shared by the tests.

Each attack reads only what a release publishes (figure geometry, table strings, CSV
frames) and returns the small counts (1 to threshold - 1) it recovered *exactly*, checked
against the truth the test computes from the data. The tests assert that the lists are
empty; on the code before issue 11 they were not (counts are in the commit messages).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd


def small(c: float, threshold: int) -> bool:
    return 1 <= c < threshold


# -- figure geometry -------------------------------------------------------------------------
def bar_segments(fig: Any) -> list[list[float]]:
    """Widths of the segments of each horizontal bar of a diverging chart, bar by bar from
    the top (as a reader measures them in the SVG)."""
    ax = fig.axes[0]
    bars: dict[float, list[tuple[float, float]]] = {}
    for p in ax.patches:
        y = round(p.get_y() + p.get_height() / 2, 6)
        bars.setdefault(y, []).append((p.get_x(), p.get_width()))
    return [[w for _, w in sorted(segs)] for _, segs in sorted(bars.items())]


def geometry_attack(fig: Any, truth: list[tuple[np.ndarray, int]],
                    threshold: int) -> list[int]:
    """Recover counts from segment widths: ``count = width * n / 100``, with the bar's true
    ``n`` given to the reader (the strongest reader). ``truth`` lists, for every bar that
    could be drawn, its true counts (in segment order) and ``n``; bars are matched to
    ``truth`` by their number of segments and order."""
    recovered: list[int] = []
    widths = bar_segments(fig)
    for segs in widths:
        for counts, n in truth:
            if len(counts) != len(segs) or n == 0:
                continue
            guess = [round(w * n / 100.0) for w in segs]
            if guess == [int(c) for c in counts]:
                recovered += [int(c) for c in counts if small(c, threshold)]
                break
    return recovered


# -- McNemar reconstruction -----------------------------------------------------------------
_NUM = r"[-+−]?[0-9.,]+"


def _parse(text: str) -> float | None:
    m = re.search(_NUM, text.replace("−", "-"))
    if not m or text.strip() in ("–", "—", ""):
        return None
    try:
        return float(m.group(0).replace(",", ""))
    except ValueError:
        return None


def mcnemar_attack(row: dict[str, str], truth: np.ndarray, threshold: int) -> list[int]:
    """Solve a paired binary row's 2x2 table ``[[a, b], [c, d]]`` (wave-1 level by wave-2
    level) from its published n, wave percentages, chi-square and odds ratio; return the
    small cells fixed by every table consistent with what is published."""
    n = _parse(row["n"])
    if n is None:
        return []
    n = int(n)
    p1, p2 = _parse(row["wave1"]), _parse(row["wave2"])
    stat = _parse(row["statistic"].split("=")[-1]) if "=" in row["statistic"] else None
    odds = _parse(row["effect"].split("=")[-1]) if "=" in row["effect"] else None
    found: list[tuple[int, int, int, int]] = []
    for b in range(n + 1):
        for c in range(n + 1 - b):
            for a in range(n + 1 - b - c):
                d = n - a - b - c
                if p1 is not None and f"{100 * (c + d) / n:.1f}" != f"{p1:.1f}":
                    continue
                if p2 is not None and f"{100 * (b + d) / n:.1f}" != f"{p2:.1f}":
                    continue
                if stat is not None:
                    chis = [((b - c) ** 2 / (b + c)) if b + c else 0.0,
                            ((abs(b - c) - 1) ** 2 / (b + c)) if b + c else 0.0]
                    if not any(abs(x - stat) < 0.005 + 1e-9 for x in chis):
                        continue
                if odds is not None:
                    ors = [b / c if c else np.inf, c / b if b else np.inf]
                    if not any(abs(x - odds) < 0.005 + 1e-9 for x in ors):
                        continue
                found.append((a, b, c, d))
        if len(found) > 50:
            return []  # far from determined
    if not found:
        return []
    cells = np.array(found)
    fixed = [i for i in range(4) if len(set(cells[:, i])) == 1]
    t = truth.ravel()
    return [int(t[i]) for i in fixed if small(t[i], threshold) and cells[0, i] == t[i]]


# -- differencing -------------------------------------------------------------------------------
def _count(text: Any) -> int | None:
    if isinstance(text, int | np.integer):
        return int(text)
    s = str(text).replace(",", "").strip()
    return int(s) if s.isdigit() else None


def _float(text: Any) -> float | None:
    try:
        v = float(str(text))
    except ValueError:
        return None
    return None if np.isnan(v) else v


def attrition_attack(published: pd.DataFrame, truth: pd.DataFrame,
                     threshold: int) -> list[int]:
    """``All`` minus the published groups, on the n's and on the counts behind the
    percentages (``k = pct * n / 100``), for each variable and side of attrition.csv."""
    recovered: list[int] = []
    for var, rows in published.groupby("variable", sort=False):
        true_rows = truth[truth["variable"] == var].set_index("group")
        for side in ("returned", "not_returned"):
            n = {g: _count(v) for g, v in zip(rows["group"], rows[f"n_{side}"], strict=True)}
            pct = {g: _float(v) for g, v in zip(rows["group"], rows.get(f"pct_{side}",
                                                                        [None] * len(rows)),
                                                strict=True)}
            groups = [g for g in n if g != "All"]
            true_n = {g: int(true_rows.at[g, f"n_{side}"]) for g in n}
            missing = [g for g in groups if n[g] is None]
            if n.get("All") is not None and len(missing) == 1:
                g = missing[0]
                guess = n["All"] - sum(n[h] for h in groups if h != g)  # type: ignore[operator]
                if guess == true_n[g] and small(guess, threshold):
                    recovered.append(guess)
            # counts behind the percentages: All minus the other groups
            known_n = {g: (n[g] if n[g] is not None else None) for g in n}
            if len(missing) == 1 and known_n["All"] is not None:
                known_n[missing[0]] = known_n["All"] - sum(  # type: ignore[operator]
                    known_n[h] for h in groups if h != missing[0])
            k = {g: (round(pct[g] * known_n[g] / 100) if pct[g] is not None
                     and known_n[g] is not None else None) for g in n}
            hidden = [g for g in groups if k[g] is None]
            if k.get("All") is not None and len(hidden) == 1 and known_n[hidden[0]]:
                g = hidden[0]
                guess = k["All"] - sum(k[h] for h in groups if h != g)  # type: ignore[operator]
                tp = _float(true_rows.at[g, f"pct_{side}"])
                if tp is None:
                    continue
                true_k = round(tp * true_n[g] / 100)
                if guess == true_k and (small(guess, threshold)
                                        or small(true_n[g] - guess, threshold)):
                    recovered.append(guess)
    return recovered


def not_stated_attack(group_n: dict[str, int], withheld: set[tuple[str, str]],
                      attrition: pd.DataFrame, truth: dict[tuple[str, str], int],
                      threshold: int) -> list[int]:
    """Table 1's withheld wave-1 "Not stated" of a group (``withheld``: ``(group,
    variable)``) = the group's published respondents minus those answering in
    attrition.csv (``n_returned + n_not_returned``)."""
    recovered: list[int] = []
    for group, var in withheld:
        row = attrition[(attrition["group"] == group) & (attrition["variable"] == var)]
        if row.empty or group not in group_n:
            continue
        a, b = _count(row["n_returned"].iloc[0]), _count(row["n_not_returned"].iloc[0])
        if a is None or b is None:
            continue
        guess = group_n[group] - (a + b)
        true = truth[(group, var)]
        if guess == true and small(true, threshold):
            recovered.append(guess)
    return recovered


def area_attack(table: pd.DataFrame, group_n: dict[str, int], truth: dict[tuple[str, str], int],
                threshold: int, column: str = "n") -> list[int]:
    """Group n minus the published area n's (a comparison by group x area): where one area
    cell of a group, item and design is withheld, ``n_group - sum(published)`` gives it.
    ``truth`` maps ``(cell label, item label)`` to the true n."""
    recovered: list[int] = []
    t = table.copy()
    t["grp"] = t["group"].str.split(" / ").str[0]
    for (grp, item), rows in t.groupby(["grp", "item"], sort=False):
        if grp not in group_n:
            continue
        values = [_count(v) for v in rows[column]]
        missing = [i for i, v in enumerate(values) if v is None]
        if len(missing) != 1:
            continue
        guess = group_n[grp] - sum(v for v in values if v is not None)
        cell = rows["group"].iloc[missing[0]]
        true = truth.get((cell, item))
        if true is not None and guess == true and small(true, threshold):
            recovered.append(guess)
    return recovered


# -- estimates outside the comparison tables (Table 8: weighted beside unweighted) -----------
def _estimate_ci(text: Any) -> tuple[float, float, float] | None:
    """``"−8.00 [−14.20, −1.80]"`` -> (estimate, low, high); ``None`` when withheld."""
    nums = re.findall(r"[-+]?[0-9]+(?:\.[0-9]+)?", str(text).replace("−", "-"))
    return (float(nums[0]), float(nums[1]), float(nums[2])) if len(nums) >= 3 else None


def paired_difference_attack(est_ci: tuple[float, float, float], n: int, k1: int | None,
                             k2: int | None, truth: np.ndarray, threshold: int,
                             confidence: float = 0.95) -> list[int]:
    """Solve a paired binary row's 2x2 table ``[[a, b], [c, d]]`` (wave-1 level by wave-2
    level, reported level second) from a published unweighted paired difference in
    percentage points with its confidence interval (``100 (b - c) / n``, a t interval from
    the influence values), the row's published pairs ``n`` and the wave counts ``k1 = c +
    d``, ``k2 = b + d`` where published; return the small counts (cells, and the wave
    counts not published) fixed by every table consistent with them."""
    from scipy import stats as sps

    est, lo, hi = est_ci
    q = float(sps.t.ppf(0.5 + confidence / 2, n - 1))
    found: list[tuple[int, int, int, int]] = []
    for b in range(n + 1):
        for c in range(n + 1 - b):
            e = (b - c) / n
            if abs(100 * e - est) > 0.005 + 1e-9:
                continue
            ss = b * (1 - e) ** 2 + c * (1 + e) ** 2 + (n - b - c) * e ** 2
            se = np.sqrt(n / (n - 1) * ss) / n
            if abs(100 * (e - q * se) - lo) > 0.005 + 1e-9 or \
                    abs(100 * (e + q * se) - hi) > 0.005 + 1e-9:
                continue
            for d in range(n + 1 - b - c):
                if k1 is not None and c + d != k1:
                    continue
                if k2 is not None and b + d != k2:
                    continue
                found.append((n - b - c - d, b, c, d))
    if not found:
        return []
    cells = np.array(found)
    t = truth.ravel()
    whole = np.c_[cells, cells[:, 2] + cells[:, 3], cells[:, 1] + cells[:, 3]]
    true = np.r_[t, t[2] + t[3], t[1] + t[3]]
    known = [False] * 4 + [k1 is not None, k2 is not None]
    return [int(true[i]) for i in range(6) if not known[i] and len(set(whole[:, i])) == 1
            and whole[0, i] == true[i] and small(true[i], threshold)]


def balance_missing_attack(smd: float, group_n: int, returned: int, not_returned_answered: int,
                           ) -> list[int]:
    """The number of a group's wave-1 respondents who left a covariate unanswered, from its
    published standardised difference ("missing" level, returners vs the whole group, two
    decimals), the group's respondents, its returners and attrition.csv's non-returners who
    answered (``m - m_returned = non-returners - answered``): every ``m`` consistent."""
    diff = (group_n - returned) - not_returned_answered
    found = []
    for m_r in range(returned + 1):
        m = m_r + diff
        if m <= 0 or m >= group_n:
            continue
        p = m / group_n
        value = (m_r / returned - p) / np.sqrt(p * (1 - p))
        if abs(value - smd) <= 0.005 + 1e-9:
            found.append(m)
    return found
