"""The codebook data model: what every column of a survey wave means.

A :class:`Codebook` is read from a Frictionless Data Package / Table Schema (v2) JSON file
(see :func:`crisis_survey.codebook.load_codebook`). It is immutable; everything else in the
library (loading, validation, linkage, the choice of test) reads from it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from html import escape
from itertools import pairwise
from typing import Literal

from .._errors import CodebookError

Measurement = Literal["ordinal", "binary", "nominal", "numeric", "text"]
Role = Literal[
    "identifier",  # respondent identifier within a wave (never output)
    "link_key",  # key that links a respondent across waves (never output)
    "wave",  # wave number
    "group",  # respondent group (service user, carer)
    "area",  # local area
    "date",  # fieldwork date
    "demographic",  # age band, gender, ethnicity, ...
    "item",  # a survey question
    "other",
]
MissingKind = Literal["dont_know", "not_applicable", "prefer_not_to_say", "not_answered"]

MEASUREMENTS: tuple[str, ...] = ("ordinal", "binary", "nominal", "numeric", "text")
ROLES: tuple[str, ...] = (
    "identifier", "link_key", "wave", "group", "area", "date", "demographic", "item", "other",
)
#: Roles held by at most one field: their name stands for that field wherever the library takes a
#: column (``by="group"`` means the field whose role is group, whatever it is called).
SINGLE_ROLES: tuple[str, ...] = ("identifier", "link_key", "wave", "group", "area", "date")
MISSING_KINDS: tuple[str, ...] = (
    "dont_know", "not_applicable", "prefer_not_to_say", "not_answered",
)
#: Values of a field's ``x-polarity`` (which way is better; absent: neither).
POLARITIES: tuple[str, ...] = ("higher_is_better", "lower_is_better")

__all__ = [
    "Codebook",
    "Field",
    "Level",
    "Measurement",
    "MissingCode",
    "MissingKind",
    "Role",
    "WaveInfo",
]


@dataclass(frozen=True, slots=True)
class Level:
    """One substantive response level: the stored ``code`` and its ``label``.

    Examples
    --------
    >>> from crisis_survey import default_codebook
    >>> default_codebook()["overall_rating"].levels[0]
    Level(code=1, label='Very poor')
    """

    code: int | str
    label: str


@dataclass(frozen=True, slots=True)
class MissingCode:
    """A code that is an answer but not a level ("don't know", "not applicable", ...).

    Such codes are never treated as a level: loading turns them into a missing value in the
    item column and records the ``kind`` in the wave's ``missing_reasons`` table.

    Examples
    --------
    >>> from crisis_survey import default_codebook
    >>> [m.kind for m in default_codebook()["exp_dignity"].missing]
    ['dont_know']
    """

    code: int | str
    label: str
    kind: MissingKind


@dataclass(frozen=True, slots=True)
class Field:
    """One column of the survey.

    ``type`` is the Table Schema type of the stored value (``integer``, ``number``,
    ``string``, ``date``). ``levels`` are the substantive response levels, in order for
    ordinal items (lowest first). ``waves`` lists the waves that asked the question.
    ``select_group`` names the multi-select question a binary column belongs to (e.g. the
    ``services_used`` question has one 0/1 column per service); ``unticked`` (codebook
    ``x-unticked``) is the code a blank cell of such a column means when the respondent
    ticked another option of the question (exports that write only the ticked options, as
    SurveyMonkey's does); a row with every option blank stays not answered. ``format`` is the Table
    Schema format of a date field: ``"default"`` (ISO 8601), ``"any"`` or a ``strftime``
    pattern such as ``"%d/%m/%Y"``. ``reports`` is the code of the level a binary item
    reports (codebook ``x-reports``; see :attr:`reported`). ``polarity`` says which way is
    better (codebook ``x-polarity``): ``"higher_is_better"`` (a higher level, or more of a
    binary item's reported level, is an improvement), ``"lower_is_better"``, or ``None``
    (default: no direction is better, e.g. which services were used; the verdicts then say
    "increased" / "decreased", never "improved").

    Examples
    --------
    >>> from crisis_survey import default_codebook
    >>> f = default_codebook()["overall_rating"]
    >>> f.role, f.measurement, f.waves
    ('item', 'ordinal', (1, 2))
    >>> f.labels
    ('Very poor', 'Poor', 'Fair', 'Good', 'Excellent')
    """

    name: str
    role: Role
    type: str = "string"
    title: str = ""
    description: str = ""
    question: str = ""
    measurement: Measurement | None = None
    levels: tuple[Level, ...] = ()
    missing: tuple[MissingCode, ...] = ()
    required: bool = False
    unique: bool = False
    waves: tuple[int, ...] = (1, 2)
    select_group: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    format: str = "default"
    reports: int | str | None = None
    polarity: str | None = None
    unticked: int | str | None = None

    @property
    def reported(self) -> Level | None:
        """The level a binary item reports (its percentage, its odds, "moves up" = to it).

        The codebook's ``x-reports`` (a level's code) if given, else the level coded 1 ("Yes"
        in both the 0/1 and the SPSS 1 = Yes / 2 = No coding), else the second level listed.
        None for items that are not binary.

        Examples
        --------
        >>> from crisis_survey import default_codebook
        >>> default_codebook()["exp_followup"].reported
        Level(code=1, label='Yes')
        """
        if self.measurement != "binary" or len(self.levels) != 2:
            return None
        wanted = self.reports if self.reports is not None else 1
        for lv in self.levels:
            if lv.code == wanted or str(lv.code) == str(wanted):
                return lv
        return self.levels[1]

    def oriented(self) -> Field:
        """The field as every test and summary reads it: a binary item's levels listed with
        the :attr:`reported` level second (so "up" and the percentage mean that level);
        any other field unchanged.

        Examples
        --------
        >>> f = Field("q3", "item", "integer", measurement="binary",
        ...           levels=(Level(1, "Yes"), Level(2, "No")))
        >>> f.oriented().labels
        ('No', 'Yes')
        """
        reported = self.reported
        if reported is None or self.levels[1] == reported:
            return self
        return replace(self, levels=(self.levels[1], self.levels[0]))

    @property
    def label(self) -> str:
        """Short human label: the title if there is one, else the name."""
        return self.title or self.name

    @property
    def private(self) -> str | None:
        """Why this field may never be published (a ``by``, an item or a label), or None.

        Identifiers, link keys, free-text answers and dates single out a respondent, so
        they never become a table's rows, columns or labels (``docs/disclosure-control.md``).

        Examples
        --------
        >>> from crisis_survey import default_codebook
        >>> cb = default_codebook()
        >>> cb.identifier.private, cb["overall_rating"].private
        ('a respondent identifier', None)
        """
        if self.role == "identifier":
            return "a respondent identifier"
        if self.role == "link_key":
            return "the link key"
        if self.measurement == "text":
            return "a free-text answer"
        if self.role == "date" or self.type in ("date", "datetime"):
            return "a date"
        return None

    @property
    def is_categorical(self) -> bool:
        return bool(self.levels)

    @property
    def ordered(self) -> bool:
        return self.measurement == "ordinal"

    @property
    def codes(self) -> tuple[int | str, ...]:
        return tuple(lv.code for lv in self.levels)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(lv.label for lv in self.levels)

    @property
    def scores(self) -> tuple[float, ...]:
        """Each level's score for mean-based tests and linear trends, lowest first: the codes
        where they are numbers rising with the levels (a 0-10 scale keeps its spacing), else
        1..k (text codes, or codes running against the order, as an export coding
        1 = "Strongly agree" does: its scale still reads lowest first).

        Examples
        --------
        >>> Field("q", "item", "integer", measurement="ordinal",
        ...       levels=(Level(5, "Low"), Level(3, "Mid"), Level(1, "High"))).scores
        (1.0, 2.0, 3.0)
        """
        codes = self.codes
        numeric = all(isinstance(c, int | float) and not isinstance(c, bool) for c in codes)
        if codes and numeric and all(float(a) < float(b)
                                     for a, b in pairwise(codes)):
            return tuple(float(c) for c in codes)
        return tuple(float(i) for i in range(1, len(codes) + 1))

    def score(self, label: str) -> int | str:
        """The code stored for a level label (the score used by trend tests)."""
        for lv in self.levels:
            if lv.label == label:
                return lv.code
        raise KeyError(label)


@dataclass(frozen=True, slots=True)
class WaveInfo:
    """A wave of the study: its number, label and (optional) fieldwork window.

    Examples
    --------
    >>> from crisis_survey import default_codebook
    >>> w = default_codebook().wave_info(1)
    >>> w.number, w.fieldwork_start
    (1, datetime.date(2014, 10, 1))
    """

    number: int
    label: str = ""
    fieldwork_start: dt.date | None = None
    fieldwork_end: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Codebook:
    """A versioned, machine-readable description of a two-wave survey.

    Build one with :func:`crisis_survey.codebook.load_codebook`; the library's own study is
    :func:`crisis_survey.codebook.default_codebook`. Fields are looked up by name
    (``codebook["overall_rating"]``); iterating gives every :class:`Field` in file order.
    ``print(codebook)`` summarises it; in Jupyter it shows as a table of its fields.

    Attributes
    ----------
    name, version, title
        The codebook's identity, recorded in every report's manifest.
    fields
        Every column of the survey, in file order.
    waves
        The two waves, with labels and fieldwork windows.
    groups_label
        What the respondent groups are called in tables ("respondent group").
    synthetic
        True for the simulated sample study's codebook: outputs are labelled synthetic.
    source
        The file the codebook was read from.

    Examples
    --------
    >>> from crisis_survey import default_codebook
    >>> cb = default_codebook()
    >>> cb.identifier.name, cb.link_key.name
    ('respondent_id', 'link_key')
    >>> [f.name for f in cb.items(measurement="ordinal")][:3]
    ['overall_rating', 'exp_help_when_needed', 'exp_help_speed']
    >>> print(cb)  # doctest: +ELLIPSIS
    Codebook crisis_care_survey 1.0.0: Mental Health Crisis Care Concordat evaluation: ...
    """

    name: str
    version: str
    title: str
    fields: tuple[Field, ...]
    waves: tuple[WaveInfo, ...] = (WaveInfo(1), WaveInfo(2))
    groups_label: str = "respondent group"
    synthetic: bool = False
    source: str = ""
    #: how many ``x-review`` notes (guesses of ``codebook draft`` not yet checked) it holds
    unreviewed: int = field(default=0, compare=False)
    _index: dict[str, Field] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Field] = {}
        problems: list[dict[str, object]] = []
        for f in self.fields:
            if f.name in index:
                problems.append(
                    {"file": self.source or None, "column": f.name, "value": f.name,
                     "problem": "field name appears twice", "expected": "unique field names"}
                )
            index[f.name] = f
        for role in ("identifier", "link_key", "wave", "group"):
            n = sum(1 for f in self.fields if f.role == role)
            if n != 1:
                problems.append(
                    {"file": self.source or None, "column": None, "value": n,
                     "problem": f"{n} fields have role {role!r}",
                     "expected": f"exactly one field with role {role!r}"}
                )
        if problems:
            raise CodebookError(problems)
        object.__setattr__(self, "_index", index)

    # -- look-ups ------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __getitem__(self, name: str) -> Field:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"{name!r} is not a field of codebook {self.name!r}") from None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def _role(self, role: Role) -> Field:
        return next(f for f in self.fields if f.role == role)

    @property
    def identifier(self) -> Field:
        """The within-wave respondent identifier field."""
        return self._role("identifier")

    @property
    def link_key(self) -> Field:
        """The field that links respondents across waves."""
        return self._role("link_key")

    @property
    def wave_field(self) -> Field:
        return self._role("wave")

    @property
    def group(self) -> Field:
        """The respondent-group field (service user / carer)."""
        return self._role("group")

    @property
    def area(self) -> Field | None:
        """The local-area field, if the codebook has one."""
        return next((f for f in self.fields if f.role == "area"), None)

    @property
    def date(self) -> Field | None:
        """The fieldwork-date field, if the codebook has one."""
        return next((f for f in self.fields if f.role == "date"), None)

    def resolve(self, name: str) -> Field:
        """The field ``name`` stands for: a role name or a field name.

        A name of a one-field role (:data:`SINGLE_ROLES`: ``"group"``, ``"area"``, ``"wave"``,
        ``"date"``, ``"identifier"``, ``"link_key"``) means the field with that ``x-role``,
        whatever the codebook calls it; a role name wins over a field of another role that has
        the same name. Any other name is a field name.

        Raises
        ------
        KeyError
            ``name`` is neither a role the codebook has nor one of its fields (the message
            lists both).

        Examples
        --------
        >>> from crisis_survey import default_codebook
        >>> default_codebook().resolve("group").name, default_codebook().resolve("age_band").role
        ('group', 'demographic')
        """
        if name in SINGLE_ROLES:
            found = [f for f in self.fields if f.role == name]
            if len(found) == 1:
                return found[0]
        if name in self._index:
            return self._index[name]
        roles = [r for r in SINGLE_ROLES if any(f.role == r for f in self.fields)]
        raise KeyError(
            f"{name!r} is neither a role of codebook {self.name!r} ({', '.join(roles)}) nor "
            f"one of its fields ({', '.join(self.names)})"
        )

    def items(
        self,
        *,
        wave: int | None = None,
        measurement: Measurement | tuple[Measurement, ...] | None = None,
    ) -> tuple[Field, ...]:
        """The survey items, optionally only those asked in ``wave`` or of a measurement level."""
        wanted: tuple[str, ...] | None
        wanted = (measurement,) if isinstance(measurement, str) else measurement
        return tuple(
            f
            for f in self.fields
            if f.role == "item"
            and (wave is None or wave in f.waves)
            and (wanted is None or f.measurement in wanted)
        )

    def demographics(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.role == "demographic")

    def private_fields(self, names: Iterable[str]) -> list[str]:
        """Problems, one line each, for the ``names`` that may never be published.

        ``by``, items and labels are refused when they name (as a field or a role,
        :meth:`resolve`) an identifier, the link key, a free-text answer or a date
        (:attr:`Field.private`); names not in the codebook are left to the caller.

        Examples
        --------
        >>> from crisis_survey import default_codebook
        >>> default_codebook().private_fields(["group", "respondent_id"])
        ["'respondent_id' is a respondent identifier, which is never published"]
        """
        problems = []
        for name in names:
            try:
                why = self.resolve(name).private
            except KeyError:
                continue
            if why is not None:
                problems.append(f"{name!r} is {why}, which is never published")
        return problems

    # -- display ---------------------------------------------------------------------------
    def _summary_lines(self) -> list[str]:
        roles: Counter[str] = Counter(f.role for f in self.fields)
        measures: Counter[str] = Counter(f.measurement for f in self.items() if f.measurement)
        waves = ", ".join(f"{w.number} ({w.label})" if w.label else str(w.number)
                          for w in self.waves)
        return [
            f"Codebook {self.name} {self.version}: {self.title}"
            + (" (SYNTHETIC sample study)" if self.synthetic else ""),
            f"waves: {waves}",
            f"{len(self.fields)} fields: "
            + ", ".join(f"{roles[r]} {r}" for r in ROLES if roles[r]),
            "items by measurement: "
            + ", ".join(f"{measures[m]} {m}" for m in MEASUREMENTS if measures[m]),
        ]

    def __str__(self) -> str:
        return "\n".join(self._summary_lines())

    def __repr__(self) -> str:
        return f"<Codebook {self.name} {self.version}: {len(self.fields)} fields>"

    def _repr_html_(self) -> str:
        head = self._summary_lines()
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in (
                f.name, f.role, f.measurement or "", ", ".join(map(str, f.waves)),
                " / ".join(f.labels), f.title,
            )) + "</tr>"
            for f in self.fields
        )
        return (
            f"<p><b>{escape(head[0])}</b><br>" + "<br>".join(escape(x) for x in head[1:])
            + "</p><table><thead><tr><th>name</th><th>role</th><th>measurement</th>"
            "<th>waves</th><th>levels</th><th>title</th></tr></thead><tbody>"
            + rows + "</tbody></table>"
        )

    def wave_info(self, number: int) -> WaveInfo:
        for w in self.waves:
            if w.number == number:
                return w
        raise KeyError(f"wave {number} is not declared in codebook {self.name!r}")
