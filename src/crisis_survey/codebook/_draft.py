"""A draft codebook written from a survey file (private; ``crisis-survey codebook draft``).

An SPSS (``.sav``) or Stata (``.dta``) file carries most of a codebook already: variable
labels (titles), value labels (categories) and user-missing codes (missing values). A CSV
file carries only values, so each column's type and categories are guessed from them. Every
guess is listed in the field's ``x-review`` property, to be checked and then deleted; the
draft is valid Table Schema either way.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from .._errors import CodebookError

__all__ = ["draft_codebook"]

SCHEMA_URL = "https://datapackage.org/profiles/2.0/tableschema.json"

#: label text -> missing kind (first match wins)
_KINDS = (
    (re.compile(r"don.?t know|not sure|unsure|can.?t (say|remember)", re.I), "dont_know"),
    (re.compile(r"not applicable|\bn/?a\b|does not apply|no contact", re.I), "not_applicable"),
    (re.compile(r"prefer not|refus|rather not", re.I), "prefer_not_to_say"),
    (re.compile(r"no answer|not answered|missing|skipped", re.I), "not_answered"),
)

#: column name or label -> role, when the name says it (each a guess, marked for review)
_ROLES = (
    (re.compile(r"^(respondent_?id|response_?id|resp_?id|id|record_?id|case_?id)$", re.I),
     "identifier"),
    (re.compile(r"e-?mail|link_?key|panel_?key|pseudonym", re.I), "link_key"),
    (re.compile(r"^wave$|^survey_?wave$", re.I), "wave"),
    (re.compile(r"^(group|role|respondent_?type|respondent_?group|user_?type|"
                r"i_?am_?a|are_?you_?a|who_?are_?you)_*$", re.I), "group"),
    (re.compile(r"area|region|locality|local_?auth|^la$|^lad\d*|borough|council|county|"
                r"trust|ccg|icb|district", re.I), "area"),
    (re.compile(r"^(age|age_?band|age_?group|gender|sex|ethnic\w*|disabilit\w*|"
                r"sexual_?orientation|religion)$", re.I), "demographic"),
)

#: a survey platform's metadata columns (Qualtrics, SurveyMonkey): not questions
_METADATA = re.compile(
    r"^(status|progress|duration(_in_seconds)?|finished|distribution_?channel|"
    r"user_?language|collector_?id|q_?recaptcha\w*|q_?relevant\w*|q_?total_?duration|"
    r"q_?ballot_?box\w*|q_?duplicate\w*|custom_?data_?\d*)$", re.I)

#: columns of personal data a platform records (contact details, names, location): never
#: analysed or published (measurement 'text', as free text)
_PERSONAL = re.compile(
    r"^(ip_?address|recipient_?(first|last)_?name|first_?name|"
    r"last_?name|full_?name|name|location_?(latitude|longitude)|"
    r"latitude|longitude|phone\w*|telephone|mobile|post_?code|zip(_?code)?)$", re.I)

#: a link key that names itself one (preferred over an e-mail address as the link)
_STRONG_LINK = re.compile(r"link_?key|panel_?key|pseudonym|external_?(data_?)?ref", re.I)

#: column name or label of a free-text answer (never categories: it is never published)
_FREE_TEXT = re.compile(r"comment|free_?text|verbatim|open_?text|other.{0,12}specify|"
                        r"please (specify|describe|explain|tell)|anything else", re.I)


def _problem(source: str, problem: str, expected: str) -> CodebookError:
    return CodebookError([{"file": source, "problem": problem, "expected": expected}],
                         headline="No draft codebook could be written")


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "_".join(words)[:40].strip("_") or "field"


def _kind(label: str) -> str | None:
    for pattern, kind in _KINDS:
        if pattern.search(label):
            return kind
    return None


def _plain(text: str) -> str:
    """'Response ID', 'I am a...' as platforms write them: lower-case words joined by
    '_' (of the first line only: a question's instructions follow on later lines)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return re.sub(r"[^0-9a-z]+", "_", first.lower()).strip("_")


def _role(name: str, label: str, is_date: bool) -> str | None:
    plain, plain_label = _plain(name), _plain(label)
    if _PERSONAL.search(plain) and not _STRONG_LINK.search(plain):
        return "personal"
    if _METADATA.search(plain):
        return "other"
    if _STRONG_LINK.search(plain):
        return "link_key"
    if is_date:
        return "date"
    for pattern, role in _ROLES:
        if pattern.search(plain) or (role in ("link_key", "area", "group", "demographic")
                                     and plain_label and pattern.search(plain_label)):
            return role
    return None


#: the words of common response scales, lowest first: text answers whose every level is one
#: scale's word are that scale's ordinal levels (matched on lower-case text without
#: punctuation)
_SCALES: tuple[tuple[str, ...], ...] = (
    ("strongly disagree", "disagree", "neither agree nor disagree", "agree", "strongly agree"),
    ("strongly disagree", "tend to disagree", "neither agree nor disagree", "tend to agree",
     "strongly agree"),
    ("very poor", "poor", "fair", "good", "very good"),
    ("very poor", "poor", "fair", "good", "excellent"),
    ("very poor", "poor", "neither good nor poor", "good", "very good"),
    ("very poor", "poor", "average", "good", "excellent"),
    ("very dissatisfied", "dissatisfied", "neither satisfied nor dissatisfied", "satisfied",
     "very satisfied"),
    ("very unhelpful", "unhelpful", "neither helpful nor unhelpful", "helpful",
     "very helpful"),
    ("not at all helpful", "not very helpful", "fairly helpful", "very helpful"),
    ("never", "rarely", "sometimes", "often", "always"),
    ("no", "yes, to some extent", "yes, definitely"),
    ("no", "yes, sometimes", "yes, always"),
    ("much worse", "worse", "about the same", "better", "much better"),
    ("got worse", "stayed the same", "improved"),
    ("extremely unlikely", "unlikely", "neither likely nor unlikely", "likely",
     "extremely likely"),
)


#: the lowest level of a scale that rates how good something was (agreement and frequency
#: scales are not: whether agreeing is better depends on the statement)
_WORST = frozenset({"very poor", "very dissatisfied", "very unhelpful", "not at all helpful",
                    "much worse", "got worse"})


def _plain_words(label: str) -> str:
    return re.sub(r"[^a-z, ]+", "", str(label).lower()).strip()


def _scale_order(levels: list[str]) -> list[str] | None:
    """``levels`` in the order of the one known scale they all belong to, or None."""
    key = {v: re.sub(r"[^a-z, ]+", "", v.lower()).strip() for v in levels}
    for scale in _SCALES:
        if len(levels) >= 3 and all(k in scale for k in key.values()):
            return sorted(levels, key=lambda v: scale.index(key[v]))
    return None


@dataclass
class _Column:
    """What one file says of one column."""

    name: str
    label: str = ""
    question: str = ""  # the question a matrix row or tick-all option belongs to
    numeric: bool = False
    is_date: bool = False
    date_format: str | None = None
    labels: dict[Any, str] = dataclass_field(default_factory=dict)
    user_missing: list[Any] = dataclass_field(default_factory=list)
    distinct: list[Any] | None = None  # up to 12 distinct answered values, else None
    answered: int = 0
    guessed_type: bool = False  # the type is guessed from text values (CSV)
    dates: tuple[str, str] | None = None  # a date column's first and last date (ISO)


def _merge(a: _Column, b: _Column) -> _Column:
    """One column's facts from both waves' files."""
    if not a.answered:
        return dataclasses.replace(b, label=b.label or a.label)
    if not b.answered:
        return dataclasses.replace(a, label=a.label or b.label)
    both = None
    if a.distinct is not None and b.distinct is not None:
        union = sorted(set(a.distinct) | set(b.distinct), key=lambda v: (str(type(v)), v))
        both = union if len(union) <= 12 else None
    return dataclasses.replace(
        a, label=a.label or b.label, numeric=a.numeric and b.numeric,
        is_date=a.is_date and b.is_date and a.date_format == b.date_format,
        labels={**b.labels, **a.labels},
        user_missing=[*a.user_missing, *(v for v in b.user_missing if v not in a.user_missing)],
        distinct=both, answered=a.answered + b.answered)


def _code(value: Any) -> int | float | str:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, (int, float)) else str(value)


#: the code of a tick-all option's 'not ticked' level (no export writes it: x-unticked)
_UNTICKED = "(not ticked)"


def _tick_option(name: str, label: str, seen: list[Any]) -> tuple[str, str] | None:
    """(question, option) of a 'tick all that apply' column: its only answer is the option's
    text, which ends its name or label after ' - ' (SurveyMonkey names the column "question -
    option"; Qualtrics' question row says the same)."""
    if len(seen) != 1 or not isinstance(seen[0], str):
        return None
    option = seen[0].strip()
    for text in (name, label):
        head, sep, tail = text.strip().rpartition(" - ")
        if sep and head and tail.casefold() == option.casefold():
            return head.strip(), option
    return None


def _field(col: _Column, waves: tuple[int, ...] | None = None) -> dict[str, Any]:
    """One field's draft from what the files say of the column (``waves``: the waves whose
    file answers it, when two files were read)."""
    name, label, numeric, is_date = col.name, col.label, col.numeric, col.is_date
    labels: Mapping[Any, str] = col.labels
    user_missing, distinct = col.user_missing, col.distinct
    review: list[str] = []
    if col.guessed_type:
        review.append("type: guessed {type!r} from the values")
    spec: dict[str, Any] = {"name": name}
    if label:
        spec["title"] = label
    if col.question:
        spec["x-question"] = col.question
    role = _role(name, label, is_date)
    personal = role == "personal"
    if role is None:
        role = "item"
        review.append("x-role: guessed 'item' (a question); set identifier, link_key, wave, "
                      "group, area, date, demographic or other if it is not one")
    elif personal:
        role = "other"
        review.append("x-role: guessed personal data (contact details, a name or a "
                      "location) from the column's name: x-measurement 'text' keeps it out "
                      "of every analysis and output")
    else:
        review.append(f"x-role: guessed {role!r} from the column's name")
    missing_codes = {_code(v) for v in user_missing}
    categories = []
    missing = []
    for value, text in sorted(labels.items(), key=lambda kv: (str(type(kv[0])), kv[0])):
        code = _code(value)
        kind = _kind(str(text))
        if code in missing_codes or kind is not None:
            missing.append({"value": str(code), "label": str(text),
                            "x-kind": kind or "dont_know"})
            if kind is None:
                review.append(f"missingValues: code {code} ({text!r}) is user-missing in the "
                              "file; its x-kind 'dont_know' is a guess")
        else:
            categories.append({"value": code, "label": str(text)})
    for code in sorted(missing_codes - {_code(v) for v in labels}, key=str):
        missing.append({"value": str(code), "label": str(code), "x-kind": "dont_know"})
        review.append(f"missingValues: user-missing code {code} has no value label; label and "
                      "x-kind are guesses")
    if is_date:
        spec["type"] = "date"
        if col.date_format:
            spec["format"] = col.date_format
            review.append(f"format: guessed {col.date_format!r} from the values (day first "
                          "where both readings fit)")
    elif numeric:
        whole = all(isinstance(c["value"], int) for c in categories) and (
            distinct is None or all(float(v).is_integer() for v in distinct))
        spec["type"] = "integer" if whole else "number"
    else:
        spec["type"] = "string"
    spec["x-role"] = role
    free_text = role == "item" and not labels and not numeric and bool(
        _FREE_TEXT.search(name) or _FREE_TEXT.search(label))
    seen = [v for v in distinct or [] if str(v).strip() != ""]  # a blank is not answered
    if not labels and not numeric and not free_text:
        # text answers such as "Don't know" or "Prefer not to say" are missing codes
        for v in list(seen):
            text_kind = _kind(str(v))
            if text_kind is not None:
                seen.remove(v)
                missing.append({"value": str(v), "label": str(v), "x-kind": text_kind})
    scale = _scale_order([str(v) for v in seen]) if not labels and not numeric else None
    if scale is not None:
        seen = scale
    labelled_scale = _scale_order([str(c["label"]) for c in categories]) if labels else None
    if labelled_scale is not None:
        scale = labelled_scale
    if labelled_scale is not None and labelled_scale != [str(c["label"]) for c in categories]:
        # value labels of a known scale whose codes run another way (1 = "Strongly agree"):
        # the levels go in the scale's order, lowest first, whatever the codes
        by_label = {c["label"]: c for c in categories}
        categories = [by_label[lb] for lb in labelled_scale]
        scale = labelled_scale
        review.append("categories: ordered as a known response scale, lowest first; the "
                      "file's codes run in another order (code "
                      f"{categories[0]['value']} is {categories[0]['label']!r}): check it")
    tick = _tick_option(name, label, seen) if role == "item" and not labels and \
        not categories and not free_text else None
    if tick is not None:
        # a tick-all option exported as its text or nothing (SurveyMonkey, Qualtrics choice
        # text): ticked / not ticked, blank meaning 'not ticked' where another was ticked
        question, option = tick
        spec["title"] = option
        spec["x-question"] = question
        spec["x-selectGroup"] = question
        spec["x-unticked"] = _UNTICKED
        spec["x-reports"] = seen[0]
        categories = [{"value": _UNTICKED, "label": "Not ticked"},
                      {"value": seen[0], "label": "Ticked"}]
        review.append(f"categories: a 'tick all that apply' option of {question!r} (its only "
                      f"answer is {option!r}): a blank counts as 'Not ticked' where another "
                      "option was ticked (x-unticked), else as not answered")
    elif not categories and not free_text and distinct is not None and \
            role in ("item", "group", "demographic") and 0 < len(seen) <= 12:
        categories = [{"value": _code(v), "label": str(_code(v))} for v in seen
                      if _code(v) not in missing_codes]
        review.append(f"categories: the {len(categories)} distinct values seen, labelled by "
                      "themselves; write each level's label")
    if role in ("item", "demographic"):
        # text codes without value labels have no order of their own (their sort order is
        # the alphabet's), so they are guessed nominal; numeric codes are guessed ordinal
        ordered = role == "item" and (bool(labels) or scale is not None
                                      or spec["type"] in ("integer", "number"))
        if free_text:
            measurement = "text"
            review.append("x-measurement: guessed 'text' (free text) from the column's name "
                          "or label; free text is never analysed or published")
        elif len(categories) == 2:
            measurement = "binary"
        elif len(categories) > 2:
            measurement = "ordinal" if ordered else "nominal"
        elif spec["type"] in ("integer", "number"):
            measurement = "numeric"
        else:
            measurement = "text"
        spec["x-measurement"] = measurement
        if not free_text:
            review.append(f"x-measurement: guessed {measurement!r}"
                          + (" (levels in the order of a known response scale, lowest "
                             "first: check it)" if measurement == "ordinal" and scale else
                             " (levels in code order, lowest first: check the order, or "
                             "make it nominal)" if measurement == "ordinal" else ""))
    elif role == "group":
        spec["x-measurement"] = "nominal"
    elif personal:
        spec["x-measurement"] = "text"
    if role == "group" and not categories:
        review.append("categories: the group field needs its groups listed")
    if categories:
        spec["categories"] = categories
        if spec.get("x-measurement") == "ordinal":
            spec["categoriesOrdered"] = True
            if scale is not None and _plain_words(scale[0]) in _WORST:
                # a scale of how good something was: higher is better whatever the question
                spec["x-polarity"] = "higher_is_better"
                review.append("x-polarity: guessed 'higher_is_better' (a rating scale from "
                              f"{scale[0]!r} up); the findings then say improved / got worse")
    if missing:
        spec["missingValues"] = [{"value": "", "label": "Not answered",
                                  "x-kind": "not_answered"}, *missing]
    if role == "identifier":
        spec["constraints"] = {"required": True, "unique": True}
    if waves is not None and len(waves) == 1 and role in ("item", "demographic"):
        spec["x-waves"] = list(waves)
        review.append(f"x-waves: only the wave-{waves[0]} file answers it")
    if col.guessed_type:
        review[0] = review[0].format(type=spec["type"])
    spec["x-review"] = review
    return spec


def _statistical(path: Path, kind: str) -> list[_Column]:
    import pandas as pd
    import pyreadstat

    from ..load._readers import _user_missing

    reader = pyreadstat.read_sav if kind == "spss" else pyreadstat.read_dta
    try:
        frame, meta = reader(str(path), apply_value_formats=False, user_missing=True)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise _problem(path.name, f"the file cannot be read ({type(exc).__name__}: {exc})",
                       "an SPSS .sav or Stata .dta file") from None
    user = _user_missing(meta)
    labels = meta.variable_value_labels or {}
    titles = dict(zip(meta.column_names, meta.column_labels or [], strict=False))
    out = []
    for name in meta.column_names:
        col = frame[name]
        is_date = str(col.dtype).startswith("datetime") or (
            col.dtype == object and col.dropna().map(lambda v: hasattr(v, "year")).all()
            and col.notna().any())
        numeric = col.dtype.kind in "if"
        distinct = sorted(col.dropna().unique().tolist(), key=str) if \
            col.nunique() <= 12 else None
        out.append(_Column(str(name).strip(), str(titles.get(name) or ""), numeric=numeric,
                           is_date=bool(is_date), labels=dict(labels.get(name, {})),
                           user_missing=user.get(str(name).strip(), []), distinct=distinct,
                           answered=int((col.notna() & (col.astype(str).str.strip() != ""))
                                        .sum()),
                           dates=_span(pd.to_datetime(col.dropna(), errors="coerce"))
                           if is_date else None))
    return out


def _tabular(path: Path) -> list[_Column]:
    """A CSV, Excel or Parquet file's columns, read as load_wave reads them (CSV in UTF-8,
    UTF-16 or Windows-1252; the one sheet holding the survey, below any title rows; a survey
    platform's extra header rows as headers, their question text as labels), then guessed
    as text."""
    import pandas as pd

    from ..load._readers import read_table

    # no codebook yet: a workbook is read from its first sheet with a table (not a cover page)
    table = read_table(path, path.name, path.suffix.lower())
    frame = table.frame

    def text(v: Any) -> Any:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
            return None
        if hasattr(v, "strftime"):  # a date cell: ISO, as the loader reads it
            return v.strftime("%Y-%m-%d") if not (v.hour or v.minute or v.second) \
                else v.isoformat(sep=" ")
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    columns = _text_columns(pd.DataFrame({c: [text(v) for v in frame[c].tolist()]
                                          for c in frame.columns}, dtype=object))
    texts = {}
    for col in columns:  # the platform's question text: the first line, as a label
        question = table.questions.get(col.name, "").strip()
        if question:
            texts[col.name] = " ".join(question.splitlines()[0].split())
    _split_matrix(columns, texts)
    return columns


def _split_matrix(columns: list[_Column], texts: dict[str, str]) -> None:
    """Label each column by its own text: a matrix question's rows or a tick-all question's
    options share the question ("How much do you agree ...? - Listened to"; SurveyMonkey
    names the column so, Qualtrics writes its question row so), so a text shared by several
    columns before ' - ' is their question (``x-question``) and the rest each one's label."""
    # the fuller of the column's name and its question text ("question - row" either way)
    full = {c.name: c.name if c.name.startswith(f"{texts.get(c.name, '')} - ")
            else texts.get(c.name) or c.name for c in columns}
    heads: dict[str, int] = {}
    for text in full.values():
        head, sep, _ = text.rpartition(" - ")
        if sep and head:
            heads[head] = heads.get(head, 0) + 1
    for col in columns:
        head, sep, tail = full[col.name].rpartition(" - ")
        if sep and head and tail.strip() and heads.get(head, 0) >= 2:
            col.label, col.question = tail.strip(), head.strip()
        elif col.name in texts and texts[col.name] == col.name:
            # SurveyMonkey names a one-column question by its text: that is its label too
            col.label = texts[col.name]
        elif col.name in texts:
            col.label = texts[col.name]


def _text_columns(frame: Any) -> list[_Column]:
    """Each text column's guessed type, date format and distinct values."""
    import pandas as pd

    out = []
    for name in frame.columns:
        col = frame[name].dropna().astype(str).str.strip()
        col = col[col != ""]
        num = pd.to_numeric(col, errors="coerce")
        numeric = bool(len(col)) and bool(num.notna().all())
        date_format = _date_format(col) if not numeric and len(col) else None
        values = num if numeric else col
        distinct = sorted(values.unique().tolist(), key=lambda v: (str(type(v)), v)) \
            if values.nunique() <= 12 else None
        out.append(_Column(str(name).strip(), numeric=numeric,
                           is_date=date_format is not None,
                           date_format=None if date_format == "default" else date_format,
                           distinct=distinct, answered=len(col), guessed_type=True,
                           dates=None if date_format is None else _span(pd.to_datetime(
                               col, format="ISO8601" if date_format == "default"
                               else date_format, errors="coerce"))))
    return out


def _span(dates: Any) -> tuple[str, str] | None:
    """The first and last of parsed dates, as ISO dates (None if there are none)."""
    dates = dates.dropna()
    if not len(dates):
        return None
    return dates.min().date().isoformat(), dates.max().date().isoformat()


def _wave_info(number: int, dates: tuple[str, str] | None) -> dict[str, Any]:
    """A wave's x-waves entry: labelled by its fieldwork year(s) when the file's dates say
    them ("2014", "2014-15"), with the fieldwork window the dates span."""
    if dates is None:
        return {"number": number, "label": f"wave {number}"}
    start, end = dates
    years = start[:4] if start[:4] == end[:4] else f"{start[:4]}-{end[2:4]}"
    return {"number": number, "label": years, "fieldworkStart": start, "fieldworkEnd": end}


#: date formats tried on text dates, ISO first, then day first (as UK exports write them)
_DATE_FORMATS = ("default", "%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d-%m-%Y",
                 "%d.%m.%Y", "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S",
                 "%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M:%S %p")  # SurveyMonkey's AM/PM


def _date_format(col: Any) -> str | None:
    """The first format every value of a text column parses in ("default": ISO 8601)."""
    import pandas as pd

    for fmt in _DATE_FORMATS:
        parsed = pd.to_datetime(col, format="ISO8601" if fmt == "default" else fmt,
                                errors="coerce")
        if bool(parsed.notna().all()):
            return fmt
    return None


def _columns(p: Path) -> list[_Column]:
    if not p.is_file():
        raise _problem(str(p), "file not found",
                       "the path of a .sav, .dta, .csv, .xlsx or .parquet file")
    suffix = p.suffix.lower()
    if suffix in (".sav", ".zsav"):
        return _statistical(p, "spss")
    if suffix == ".dta":
        return _statistical(p, "stata")
    if suffix in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet"):
        return _tabular(p)
    raise _problem(p.name, f"cannot draft a codebook from a {suffix or 'file'} file",
                   "a .sav, .dta, .csv, .xlsx or .parquet file")


#: a completion date, preferred as the fieldwork date over a start date
_END_DATE = re.compile(r"end|recorded|complet|submit", re.I)


def _one_per_role(fields: list[dict[str, Any]]) -> None:
    """Keep one field per role a codebook has once (identifier, link key, wave, group,
    area, date): a platform's export often has several candidates (Qualtrics: a start, end
    and recorded date; an external reference and the recipient's e-mail). The first is kept
    (a link key named as one before an e-mail address; a completion date before a start
    date); the others become role 'other', and personal data ('text', never published) where
    they could single a respondent out. Each change is marked for review."""
    prefer = {"link_key": lambda f: not _STRONG_LINK.search(_plain(f["name"])),
              "date": lambda f: not _END_DATE.search(f["name"])}
    for role in ("identifier", "link_key", "wave", "group", "area", "date"):
        same = [f for f in fields if f.get("x-role") == role]
        if len(same) < 2:
            continue
        keep = min(same, key=lambda f: (prefer.get(role, lambda f: False)(f), same.index(f)))
        for f in same:
            if f is keep:
                continue
            f["x-role"] = "other"
            for key in ("categories", "categoriesOrdered", "constraints"):
                f.pop(key, None)
            if role in ("identifier", "link_key"):
                f["x-measurement"] = "text"
            else:
                f.pop("x-measurement", None)
            private = (" and personal data (x-measurement 'text': never analysed or "
                       "published)") if role in ("identifier", "link_key") else ""
            kept = [r for r in f.get("x-review", [])
                    if not r.startswith(("x-role", "categories", "x-measurement"))]
            f["x-review"] = [*kept, f"x-role: another column ({keep['name']!r}) was taken as "
                             f"the {role.replace('_', ' ')}; this one is 'other'{private}"]


def draft_codebook(path: str | Path, wave2: str | Path | None = None, *, rename: bool = False
                   ) -> tuple[dict[str, Any], dict[str, str]]:
    """A draft codebook (Table Schema as a dict) and a column mapping, from a survey file.

    Parameters
    ----------
    path
        An SPSS ``.sav``/``.zsav``, Stata ``.dta`` or ``.csv`` file (wave 1's).
    wave2
        Optionally the wave-2 file: levels seen in either file become categories, and a
        question only one file answers gets that wave in its ``x-waves``.
    rename
        ``False`` (default): each field is named as the file's column, so the file loads
        without a mapping. ``True``: each field is named from its variable label
        (``overall_quality_of_care`` for ``Q3_1``), and the mapping says which column holds it.

    Returns
    -------
    (schema, mapping)
        ``schema`` lists every guess in the field's ``x-review`` (delete it once checked).
        ``mapping`` maps each file column to the field holding it (with ``rename``, a name
        made from its variable label: ``"Q3_1": "overall_quality_of_care"``); pass it to
        :func:`crisis_survey.load_wave` as ``mapping=``.

    Raises
    ------
    CodebookError
        If the file cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "w1.csv").write_text("id,wave,Q1\\nr1,1,4\\nr2,1,5\\n")
    >>> schema, mapping = draft_codebook(folder / "w1.csv")
    >>> [(f["name"], f["type"], f["x-role"]) for f in schema["fields"]]
    [('id', 'string', 'identifier'), ('wave', 'integer', 'wave'), ('Q1', 'integer', 'item')]
    """
    p = Path(path)
    first = _columns(p)
    second: dict[str, _Column] = {}
    if wave2 is None:
        fields = [_field(c) for c in first]
    else:
        second = {c.name: c for c in _columns(Path(wave2))}
        seen = {c.name for c in first}
        fields = []
        for c in [*first, *(c for n, c in second.items() if n not in seen)]:
            a = c if c.name in seen else dataclasses.replace(c, answered=0)
            b = second.get(c.name, dataclasses.replace(c, answered=0))
            waves = tuple(w for w, x in ((1, a), (2, b)) if x.answered)
            fields.append(_field(_merge(a, b) if c.name in seen else b, waves or None))
    _one_per_role(fields)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for f in fields:
        base = _slug(f.get("title") or f["name"])
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        mapping[f["name"]] = name if rename else f["name"]
        if rename:
            f["name"] = name
    roles = {f["x-role"] for f in fields}
    review = [f"no column looks like the {role.replace('_', ' ')}: set one field's x-role to "
              f"{role!r} (the codebook needs exactly one)"
              for role in ("identifier", "link_key", "group") if role not in roles]
    if "wave" not in roles:
        # each wave's file is read as the wave it is given as (load_wave(..., wave=)), so a
        # file without a wave column needs only the field declared
        name = "wave" if "wave" not in {f["name"] for f in fields} else "survey_wave"
        fields.insert(0, {"name": name, "type": "integer", "x-role": "wave", "x-review": [
            "added: no column holds the wave, so each file is read as the wave it is loaded "
            "as (wave=1 or wave=2); if a column does hold it, give that field this role and "
            "delete this one"]})
    # the waves' labels and fieldwork windows from the fieldwork date's values in each file
    date = next((f["name"] for f in fields if f.get("x-role") == "date"), None)
    spans = [next((c.dates for c in first if c.name == date), None),
             second[date].dates if date in second else None]
    waves_info = [_wave_info(w, spans[w - 1] if date else None) for w in (1, 2)]
    if any("fieldworkStart" in w for w in waves_info):
        review.append("x-waves: each wave's label (its fieldwork year) and fieldwork window are "
                      f"the first and last dates of {date!r} in its file: check them")
    schema: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "name": _slug(p.stem),
        "title": f"Draft codebook of {p.name}"
                 + (f" and {Path(wave2).name}" if wave2 is not None else ""),
        "version": "0.1.0",
        "x-waves": waves_info,
        "fieldsMatch": "superset",
        "x-review": [f"written by crisis-survey codebook draft from {p.name}: check every "
                     "x-review note, then delete it", *review],
        "fields": fields,
    }
    return schema, mapping
