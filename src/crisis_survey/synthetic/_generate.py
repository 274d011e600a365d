"""Generate a synthetic two-wave crisis-care survey, as a survey platform would export it."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import ndtri

from .._errors import CrisisSurveyError
from ..codebook import Codebook, Field, default_codebook
from . import _profiles as P

__all__ = ["KEY_COMPONENTS", "KEY_ERRORS", "SyntheticStudy", "generate_study"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Default wave windows when a custom codebook declares none.
_DEFAULT_WINDOWS = {1: (dt.date(2014, 10, 1), dt.date(2014, 11, 30)),
                    2: (dt.date(2015, 11, 1), dt.date(2015, 12, 31))}
#: Link keys are ``LLLL-DDDD``: 26**4 * 10**4 distinct keys; person k gets key number
#: (k * _KEY_MULT + offset) mod _KEY_SPACE, a bijection (the multiplier is prime and does not
#: divide the key space), so every simulated person has their own key.
_KEY_SPACE = 26**4 * 10**4
_KEY_MULT = 2_654_435_761
#: A typo turns digit d into the letter _TYPO[d] (one-to-one, and a letter never appears in a
#: digit position of a real key, so a mistyped key never matches anybody).
_TYPO = np.frombuffer(b"OIZEASGTBQ", dtype=np.uint8)
#: Errors of a retyped key (``generate_study(retyped_keys=...)``), in the truth's
#: ``key_error`` column. Code 0 is "none". The key ``LLLL-DDDD`` is read as a self-generated
#: code of four two-character components (``LL LL DD DD``, e.g. initials of a parent's
#: name, one's own initials, birth day, birth month), so "component" replaces one of them.
KEY_ERRORS: tuple[str, ...] = ("substitution", "insertion", "deletion", "transposition",
                               "confusable", "component", "invisible")
_ERROR_NAMES = np.array(("none", *KEY_ERRORS), dtype=object)
#: The components of the generator's self-generated code, as widths of the normalised key.
KEY_COMPONENTS: tuple[int, ...] = (2, 2, 2, 2)
#: Characters that look alike (O/0, I/1, l/1, S/5, B/8): byte -> its look-alike, 0 if none.
_CONFUSE = np.zeros(256, dtype=np.uint8)
for _a, _b in (b"O0", b"I1", b"S5", b"B8", b"o0", b"i1", b"s5", b"b8", b"l1"):
    _CONFUSE[_a] = _b
    _CONFUSE[_b] = _a if _CONFUSE[_b] == 0 else _CONFUSE[_b]
#: Invisible characters a retyped (copied-and-pasted) key may carry.
_INVISIBLE = ("\u202e", "\u180e", "\u034f", "\x00", "\u200b", "\u2060", "\ufeff")
_ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)


@dataclass(frozen=True)
class SyntheticStudy:
    """A generated two-wave study: the two exported waves and the truth behind them.

    Unpacks as ``wave1, wave2 = generate_study(...)``.

    Attributes
    ----------
    wave1, wave2
        The waves as a survey platform exports them: one row per submitted questionnaire,
        columns the codebook fields asked in that wave, coded values (nullable integers; a
        blank answer is ``<NA>``), ``completed_date`` as dates, identifiers, keys, area codes
        and comments as text (``None`` when blank). Rows are in order of submission.
    truth
        One row per submitted questionnaire of either wave: ``wave``, ``respondent_id``,
        ``person`` (the simulated person; the same number in both waves), ``true_group``
        (the group code the person belongs to), ``kind`` (``"wave 1"``, ``"returner"``,
        ``"new"``, ``"repeat submission"``), ``key_style`` (how the link key was typed:
        ``"standard"``, ``"lower case"``, ``"no hyphen"``, ``"space"``, ``"padded"``,
        ``"typo"``, ``"lower case, no hyphen"``, ``"blank"``), ``group_conflict`` (answered
        wave 2 in the other group), ``latent_general`` (the person's disposition) and
        ``key_error`` (``"none"``, or the error of a retyped wave-2 key: one of
        :data:`KEY_ERRORS`, see ``generate_study(retyped_keys=...)``).
        For checking analyses; the analyst never has this for real data.
    params
        The arguments of the call that made the study (``codebook`` as its name and version).

    Examples
    --------
    >>> from crisis_survey.synthetic import generate_study
    >>> study = generate_study(n_service_users=60, n_carers=40, seed=3)
    >>> wave1, wave2 = study
    >>> len(wave1), len(wave2)
    (101, 192)
    >>> study.params["seed"], str(study).startswith("SYNTHETIC")
    (3, True)
    """

    wave1: pd.DataFrame
    wave2: pd.DataFrame
    truth: pd.DataFrame
    params: Mapping[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        yield self.wave1
        yield self.wave2

    def wave(self, number: int) -> pd.DataFrame:
        """The exported frame of wave ``number`` (1 or 2)."""
        if number == 1:
            return self.wave1
        if number == 2:
            return self.wave2
        raise CrisisSurveyError(f"wave must be 1 or 2, got {number!r}")

    def __str__(self) -> str:
        call = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return (
            f"SYNTHETIC two-wave study: wave 1 {len(self.wave1)} rows, wave 2 "
            f"{len(self.wave2)} rows (generate_study({call}))"
        )

    def _repr_html_(self) -> str:
        return f"<p><b>SYNTHETIC DATA</b> {escape(str(self))}</p>"


# -- small vectorised helpers -----------------------------------------------------------------
def _draw_codes(
    rng: np.random.Generator, codes: npt.NDArray[Any], probs: FloatArray, n: int
) -> npt.NDArray[Any]:
    """``n`` independent draws of ``codes`` with probabilities ``probs`` (inverse CDF)."""
    cum = np.cumsum(probs / probs.sum())
    cum[-1] = 1.0
    idx = np.searchsorted(cum, rng.random(n), side="right")
    return codes[np.minimum(idx, len(codes) - 1)]


def _chance(rng: np.random.Generator, n: int, p: float) -> BoolArray:
    """``n`` independent events of probability ``p`` (float32 uniforms: fast)."""
    return rng.random(n, dtype=np.float32) < np.float32(p)


def _thresholds(probs: tuple[float, ...]) -> FloatArray:
    """Cut points on the N(0, 1) latent scale that give the level probabilities ``probs``."""
    p = np.asarray(probs, dtype=np.float64)
    cum = np.cumsum(p / p.sum())[:-1]
    return np.asarray(ndtri(cum), dtype=np.float64)


def _ascii(matrix: npt.NDArray[np.uint8], blank: BoolArray | None = None) -> Any:
    """Rows of an ASCII byte matrix as a pandas ``str`` array (trailing NUL bytes dropped).

    Built through Arrow: a million strings take milliseconds, not a Python loop.
    """
    width = matrix.shape[1]
    fixed = np.ascontiguousarray(matrix).view(f"S{width}").ravel()
    arrow = pa.array(fixed, type=pa.binary(), mask=blank).cast(pa.large_string())
    return pd.array(arrow, dtype="str")


def _take(pool: Sequence[str], index: IntArray, blank: BoolArray) -> Any:
    """``pool[index]`` as a pandas ``str`` array, missing where ``blank``."""
    arrow = pa.array(list(pool), type=pa.large_string()).take(pa.array(index, mask=blank))
    return pd.array(arrow, dtype="str")


def _digits(values: IntArray, width: int) -> npt.NDArray[np.uint8]:
    """Zero-padded decimal digits of non-negative integers as an ASCII byte matrix."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64)
    for col in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        out[:, col] = digit + ord("0")
    return out


def _nullable(values: npt.NDArray[Any], blank: BoolArray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(values.astype(np.int64), blank.copy())


# -- link keys --------------------------------------------------------------------------------
_STYLE_NAMES = np.array(
    ["standard", "lower case", "no hyphen", "space", "padded", "typo",
     "lower case, no hyphen", "blank"], dtype=object,
)


def _typed_keys(rng: np.random.Generator, key_number: IntArray, style: IntArray,
                errors: tuple[np.random.Generator, IntArray] | None = None) -> Any:
    """The link keys as typed: ``LLLL-DDDD`` in one of the styles of ``_profiles``.

    ``errors`` = (generator, error code per row, 0 for none; see :data:`KEY_ERRORS`) retypes
    the keys of the rows with a code; the codes are updated in place where an error could
    not be made (a key without a confusable character gets a substitution instead).
    """
    n = len(key_number)
    letters_part, digits_part = np.divmod(key_number, 10**4)
    powers26 = 26 ** np.arange(3, -1, -1, dtype=np.int64)
    letters = (letters_part[:, None] // powers26 % 26 + ord("A")).astype(np.uint8)
    digits = _digits(digits_part, 4)
    lower = (style == 1) | (style == 6)
    letters[lower] += 32
    typo = np.flatnonzero(style == 5)
    pos = rng.integers(0, 4, size=len(typo))
    digits[typo, pos] = _TYPO[digits[typo, pos] - ord("0")]
    out = np.zeros((n, 11), dtype=np.uint8)
    joined = (style == 2) | (style == 6)
    sep = np.where(style == 3, ord(" "), ord("-")).astype(np.uint8)
    plain = ~joined & (style != 4)
    out[plain, 0:4] = letters[plain]
    out[plain, 4] = sep[plain]
    out[plain, 5:9] = digits[plain]
    out[joined, 0:4] = letters[joined]
    out[joined, 4:8] = digits[joined]
    padded = style == 4
    out[padded, 0] = ord(" ")
    out[padded, 1:5] = letters[padded]
    out[padded, 5] = ord("-")
    out[padded, 6:10] = digits[padded]
    out[padded, 10] = ord(" ")
    if errors is None:
        return _ascii(out, blank=style == 7)
    err_rng, code = errors
    # the column of each of the key's 8 characters in ``out``, by style
    content = np.tile(np.array([0, 1, 2, 3, 5, 6, 7, 8]), (n, 1))
    content[joined] = np.arange(8)
    content[padded] += 1
    out = _retype(err_rng, out, content, code, lower)
    keys = _ascii(out, blank=style == 7)
    return _insert_invisible(err_rng, keys, np.flatnonzero(code == len(KEY_ERRORS)))


def _retype(rng: np.random.Generator, out: npt.NDArray[np.uint8], content: IntArray,
            code: IntArray, lower: BoolArray) -> npt.NDArray[np.uint8]:
    """Make the errors of ``code`` (1-6; 7, invisible, is added later) in the byte matrix."""
    n = len(out)
    rows = np.arange(n)
    wide = np.zeros((n, out.shape[1] + 2), dtype=np.uint8)
    wide[:, : out.shape[1]] = out

    def random_char(k: int, pool: npt.NDArray[np.uint8], low: BoolArray) -> npt.NDArray[Any]:
        ch = pool[rng.integers(0, len(pool), size=k)]
        return np.where(low & (ch >= 65) & (ch <= 90), ch + 32, ch).astype(np.uint8)

    # confusable: swap every look-alike with chance 1/2, at least one; none -> substitution
    conf = np.flatnonzero(code == 5)
    look = _CONFUSE[wide[conf[:, None], content[conf]]]
    has = look > 0
    none = ~has.any(axis=1)
    code[conf[none]] = 1
    conf, look, has = conf[~none], look[~none], has[~none]
    pick = has & (rng.random(has.shape) < 0.5)
    first = np.argmax(has * rng.random(has.shape), axis=1)  # one look-alike for sure
    pick[np.arange(len(conf)), first] = True
    r_idx, c_idx = np.nonzero(pick)
    wide[conf[r_idx], content[conf[r_idx], c_idx]] = look[r_idx, c_idx]

    # substitution: one character becomes another (letters keep the key's case)
    sub = np.flatnonzero(code == 1)
    col = content[sub, rng.integers(0, 8, size=len(sub))]
    old = wide[sub, col]
    new = random_char(len(sub), _ALNUM, lower[sub])
    same = (new == old) | ((new ^ 32) == old)
    new[same] = np.where(old[same] == ord("9"), ord("0"), old[same] + 1)
    new[same & (old == ord("Z"))] = ord("A")
    new[same & (old == ord("z"))] = ord("a")
    wide[sub, col] = new

    # transposition of two neighbouring characters that differ (in the normalised key)
    tra = np.flatnonzero(code == 4)
    k = rng.integers(0, 7, size=len(tra))
    for _ in range(8):  # re-draw where both characters are the same
        a, b = wide[tra, content[tra, k]], wide[tra, content[tra, k + 1]]
        k = np.where(a == b, (k + 1) % 7, k)
    ca, cb = content[tra, k], content[tra, k + 1]
    a, b = wide[tra, ca].copy(), wide[tra, cb].copy()
    wide[tra, ca], wide[tra, cb] = b, a

    # one component (two characters) replaced by another value of its kind
    com = np.flatnonzero(code == 6)
    part = rng.integers(0, 4, size=len(com))
    for j in range(2):
        col = content[com, 2 * part + j]
        letters = part < 2
        pool_l = random_char(len(com), _ALNUM[:26], lower[com])
        pool_d = _ALNUM[26:][rng.integers(0, 10, size=len(com))]
        new = np.where(letters, pool_l, pool_d).astype(np.uint8)
        if j == 0:
            first_old = wide[com, col].copy()
            first_new = new
        else:  # the component must change: if both characters came out the same, shift one
            same = (first_new == first_old) & (new == wide[com, col])
            new[same] = np.where(letters[same], ((new[same] | 32) - 97 + 1) % 26 + 97
                                 - 32 * ~lower[com][same], (new[same] - 48 + 1) % 10 + 48)
        wide[com, col] = new

    # insertion and deletion shift the rest of the key
    J = np.arange(wide.shape[1])
    src = np.broadcast_to(J, wide.shape).copy()
    ins = np.flatnonzero(code == 2)
    pos = rng.integers(0, 9, size=len(ins))
    at = np.where(pos < 8, content[ins, np.minimum(pos, 7)], content[ins, 7] + 1)
    src[ins] = np.where(J[None, :] <= at[:, None], J[None, :], J[None, :] - 1)
    dele = np.flatnonzero(code == 3)
    at_d = content[dele, rng.integers(0, 8, size=len(dele))]
    src[dele] = np.minimum(np.where(J[None, :] < at_d[:, None], J[None, :], J[None, :] + 1),
                           wide.shape[1] - 1)
    shifted: npt.NDArray[np.uint8] = wide[rows[:, None], src]
    shifted[dele, -1] = 0
    shifted[ins, at] = random_char(len(ins), _ALNUM, lower[ins])
    return shifted


def _insert_invisible(rng: np.random.Generator, keys: Any, rows: IntArray) -> Any:
    """Insert one invisible character (U+202E, U+180E, U+034F, NUL...) into each key of
    ``rows``, at a random place (Arrow string kernels, one call per place)."""
    if rows.size == 0:
        return keys
    arrow = pa.array(keys, type=pa.large_string())
    chosen = arrow.take(pa.array(rows))
    where = rng.integers(0, 12, size=rows.size)
    which = pa.array([_INVISIBLE[i] for i in rng.integers(0, len(_INVISIBLE), size=rows.size)],
                     type=pa.large_string())
    values = arrow.to_numpy(zero_copy_only=False).astype(object)
    for p in np.unique(where):
        sel = np.flatnonzero(where == p)
        part = chosen.take(pa.array(sel))
        joined = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(part, 0, int(p)), which.take(pa.array(sel)),
            pc.utf8_slice_codeunits(part, int(p)), pa.scalar("", pa.large_string()))
        values[rows[sel]] = joined.to_numpy(zero_copy_only=False)
    return pd.array(pa.array(values, type=pa.large_string(), from_pandas=True), dtype="str")


# -- the generator ----------------------------------------------------------------------------
def _check_args(**kwargs: Any) -> None:
    problems = []
    for name in ("n_service_users", "n_carers", "n_new_wave2", "n_areas"):
        value = kwargs[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            problems.append(f"{name} must be a whole number >= 0, got {value!r}")
    if not problems:
        if kwargs["n_service_users"] + kwargs["n_carers"] < 1:
            problems.append("wave 1 needs at least one respondent (n_service_users + n_carers)")
        if kwargs["n_areas"] < 1:
            problems.append("n_areas must be at least 1")
    rate = kwargs["return_rate"]
    if not isinstance(rate, (int, float)) or not 0.0 <= float(rate) <= 1.0:
        problems.append(f"return_rate must be a proportion between 0 and 1, got {rate!r}")
    for name in ("effect_service_users", "effect_carers"):
        value = kwargs[name]
        if not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            problems.append(f"{name} must be a finite number (latent SD units), got {value!r}")
    for name in ("selective_return", "area_effect_sd"):
        value = kwargs[name]
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(float(value)) or float(value) < 0):
            problems.append(f"{name} must be a finite number >= 0, got {value!r}")
    seed = kwargs["seed"]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        problems.append(f"seed must be a whole number >= 0, got {seed!r}")
    if problems:
        raise CrisisSurveyError("generate_study: " + "; ".join(problems))


def _check_codebook(cb: Codebook) -> None:
    if len(cb.group.levels) != 2:
        raise CrisisSurveyError(
            f"generate_study: the codebook's group field {cb.group.name!r} has "
            f"{len(cb.group.levels)} levels; the generator needs exactly two "
            "(service users first, then carers)"
        )
    for f in cb.fields:
        if f.type == "integer" and f.levels and not all(isinstance(c, int) for c in f.codes):
            raise CrisisSurveyError(
                f"generate_study: field {f.name!r} is an integer field with non-integer codes"
            )


def generate_study(
    *,
    n_service_users: int = 450,
    n_carers: int = 200,
    return_rate: float = 0.40,
    n_new_wave2: int = 150,
    n_areas: int = 96,
    effect_service_users: float = 0.30,
    effect_carers: float = 0.0,
    seed: int = 2014,
    codebook: Codebook | None = None,
    retyped_keys: float = 0.0,
    key_errors: Sequence[str] = KEY_ERRORS,
    selective_return: float = 0.0,
    item_effects: Mapping[str, float] | None = None,
    area_effect_sd: float = 0.0,
) -> SyntheticStudy:
    """Simulate the two waves of the crisis-care survey, as a survey platform exports them.

    Every value is SYNTHETIC: drawn from the model below, not from any real respondent.

    Parameters
    ----------
    n_service_users, n_carers
        Respondents of wave 1 in each group (before repeat submissions).
    return_rate
        Share of wave-1 respondents who answer again in wave 2 (exactly
        ``round(return_rate * (n_service_users + n_carers))`` of them return).
    n_new_wave2
        Wave-2 respondents who did not answer wave 1.
    n_areas
        Number of local areas (codes ``CC01``, ``CC02``, ...), of unequal sizes.
    effect_service_users, effect_carers
        Shift of the latent experience scale in wave 2, in SD units, by group (positive:
        better care). Every experience item asked in both waves moves by this amount.
    seed
        Seed of the ``numpy.random.Generator`` (PCG64). The same seed and arguments give
        identical frames.
    codebook
        Codebook describing the columns; ``None`` for the library's crisis-care survey.
    retyped_keys
        Share of returners whose wave-2 key carries one retyping error (on top of the
        typing styles), for testing tolerant linkage. The error is drawn evenly from
        ``key_errors``: ``"substitution"``, ``"insertion"``, ``"deletion"`` (one edit),
        ``"transposition"`` (two neighbouring characters swapped), ``"confusable"``
        (look-alike characters O/0, I/1, l/1, S/5, B/8 swapped, at least one),
        ``"component"`` (one of the self-generated code's four two-character components,
        :data:`KEY_COMPONENTS`, replaced) and ``"invisible"`` (an invisible character such
        as U+202E, U+180E, U+034F or NUL inserted). The truth's ``key_error`` says which.
        The errors are drawn from their own random stream, so the rest of the study is the
        same as with ``retyped_keys=0``.
    key_errors
        The error kinds to draw from (default: all of :data:`KEY_ERRORS`).
    selective_return
        Strength of return selected on what the analyst sees: the log selection weight
        per SD of the respondent's wave-1 answer (level position, standardised) to the
        first experience item of the codebook (the headline item), replacing the default
        selection on the unobserved disposition (the selection on age stays). ``0``
        (default): returners are chosen as before, and the study is byte-identical to one
        made without this argument. With a positive strength the
        returners rated care better at wave 1 than those who did not return, so their
        wave-2 answers are better and (regression to the mean) their change smaller than
        the population's; return is missing at random given that answer, so weights that
        use it and age recover the truth (``docs/methods/attrition-weights.md``).
    item_effects
        Item name -> extra wave-2 shift (latent SD units) of that item, in both groups, on
        top of the group effects.
    area_effect_sd
        SD of an extra wave-2 shift per local area (latent SD units), drawn from its own
        random stream (the rest of the study is the same as with ``0``).

    Returns
    -------
    SyntheticStudy
        ``wave1`` and ``wave2`` data frames (it unpacks as the pair), the ``truth`` about
        every row and the ``params`` of the call.

    Raises
    ------
    CrisisSurveyError
        If a size, rate, effect or seed is out of range, or the codebook's group field does
        not have exactly two levels.

    Notes
    -----
    Each experience item ``j`` (ordinal or binary, asked in both waves) is a cut latent
    normal. For person ``i`` in wave ``w``

    .. math::

        z_{ijw} = \\sqrt{0.3}\\,u_i + \\sqrt{0.2}\\,v_{ij} + \\sqrt{0.5}\\,e_{ijw}
                  + \\mu_{g(i)} + \\delta_{g(i)}\\,[w = 2],

    with ``u, v, e`` independent standard normals, ``mu`` 0 for service users and -0.15 for
    carers and ``delta`` the effects above. The answer is level ``k`` when ``z`` falls
    between cut points ``tau_{k-1}`` and ``tau_k``, where ``tau = Phi^{-1}`` of the item's
    cumulative wave-1 service-user probabilities. A returner's two answers to an item are
    correlated 0.5 on the latent scale. Missing-value codes ("don't know", "not applicable",
    "prefer not to say"), blanks, part-completed questionnaires, services used, wave-2-only
    items, link-key typing and repeat submissions follow ``docs/sample-study.md``.

    References
    ----------
    McPin Foundation (2015). Evaluation of the Mental Health Crisis Care Concordat: summary
    (the survey design this simulation imitates).

    Examples
    --------
    >>> wave1, wave2 = generate_study(seed=1)
    >>> len(wave1) >= 650, wave1["respondent_id"].is_unique
    (True, True)
    >>> sorted(wave1["group"].dropna().unique().tolist())
    [1, 2]
    >>> "aware_concordat" in wave1.columns, "aware_concordat" in wave2.columns
    (False, True)
    >>> generate_study(seed=1).wave1.equals(wave1)
    True
    """
    _check_args(
        n_service_users=n_service_users, n_carers=n_carers, return_rate=return_rate,
        n_new_wave2=n_new_wave2, n_areas=n_areas, effect_service_users=effect_service_users,
        effect_carers=effect_carers, seed=seed, selective_return=selective_return,
        area_effect_sd=area_effect_sd,
    )
    kinds = [key_errors] if isinstance(key_errors, str) else list(key_errors)
    unknown = [k for k in kinds if k not in KEY_ERRORS]
    if (not isinstance(retyped_keys, (int, float)) or isinstance(retyped_keys, bool)
            or not 0.0 <= float(retyped_keys) <= 1.0 or unknown or not kinds):
        raise CrisisSurveyError(
            "generate_study: retyped_keys must be a proportion between 0 and 1 and "
            f"key_errors a non-empty list of {', '.join(KEY_ERRORS)}; got "
            f"retyped_keys={retyped_keys!r}, key_errors={key_errors!r}")
    cb = codebook if codebook is not None else default_codebook()
    _check_codebook(cb)
    shifts = dict(item_effects or {})
    bad = [f"{k!r}: {v!r}" for k, v in shifts.items()
           if k not in cb or isinstance(v, bool) or not isinstance(v, (int, float))
           or not math.isfinite(float(v))]
    if bad:
        raise CrisisSurveyError(
            "generate_study: item_effects must map codebook items to finite numbers "
            f"(latent SD units); got {', '.join(bad)}")
    rng = np.random.default_rng(int(seed))
    sim = _Simulation(cb, rng, int(n_areas), (float(effect_service_users), float(effect_carers)))
    sim.item_shift = {k: float(v) for k, v in shifts.items() if v}
    if area_effect_sd:
        sim.area_shift = np.random.default_rng([int(seed), 17]).normal(
            0.0, float(area_effect_sd), len(sim.area_codes)).astype(np.float32)
    sim.retyped = float(retyped_keys)
    sim.error_codes = np.array([KEY_ERRORS.index(k) + 1 for k in kinds], dtype=np.int64)
    sim.key_rng = np.random.default_rng([int(seed), 16])

    n1 = int(n_service_users) + int(n_carers)
    n_new = int(n_new_wave2)
    sim.make_people(int(n_service_users), int(n_carers), n_new)

    # Wave 1: everyone once, a few twice.
    n_rep1 = round(P.REPEAT_RATE_W1 * n1)
    rep1 = np.sort(rng.choice(n1, size=n_rep1, replace=False)) if n_rep1 else np.empty(0, int)
    pid1 = np.concatenate([np.arange(n1), rep1]).astype(np.int64)
    kind1 = np.array(["wave 1"] * n1 + ["repeat submission"] * n_rep1, dtype=object)

    selected_on = None
    if selective_return:  # wave 1 first: return is chosen on its answers
        wave1, truth1 = sim.wave_frame(1, pid1, kind1, np.zeros(n1 + n_rep1, dtype=bool))
        selected_on = sim.wave1_answer(wave1, truth1, n1)

    # Wave 2: returners (weighted sampling without replacement: Gumbel top-k), new people.
    k = round(float(return_rate) * n1)
    older = sim.age_older[:n1]
    score = (P.RETURN_SELECTION_LATENT * sim.u[:n1] + P.RETURN_SELECTION_OLDER * older
             + rng.gumbel(size=n1))
    if selected_on is not None:  # only on what was observed: missing at random given it
        score += float(selective_return) * selected_on - P.RETURN_SELECTION_LATENT * sim.u[:n1]
    returners = (np.sort(np.argpartition(-score, k - 1)[:k]) if 0 < k < n1
                 else np.arange(n1 if k >= n1 else 0))
    first2 = np.concatenate([returners, np.arange(n1, n1 + n_new)]).astype(np.int64)
    n_rep2 = round(P.REPEAT_RATE_W2 * len(first2))
    rep2 = (np.sort(rng.choice(first2, size=n_rep2, replace=False)) if n_rep2
            else np.empty(0, np.int64))
    pid2 = np.concatenate([first2, rep2]).astype(np.int64)
    kind2 = np.array(["returner"] * len(returners) + ["new"] * n_new
                     + ["repeat submission"] * n_rep2, dtype=object)
    n_conf = min(len(returners), max(2, round(P.GROUP_CONFLICT_RATE * len(returners))))
    conflict = np.zeros(len(pid2), dtype=bool)
    if n_conf:
        conflict[rng.choice(len(returners), size=n_conf, replace=False)] = True

    if selected_on is None:
        wave1, truth1 = sim.wave_frame(1, pid1, kind1, np.zeros(n1 + n_rep1, dtype=bool))
    wave2, truth2 = sim.wave_frame(2, pid2, kind2, conflict)
    truth = pd.concat([truth1, truth2], ignore_index=True)
    params = {
        "n_service_users": int(n_service_users), "n_carers": int(n_carers),
        "return_rate": float(return_rate), "n_new_wave2": n_new, "n_areas": int(n_areas),
        "effect_service_users": float(effect_service_users),
        "effect_carers": float(effect_carers), "seed": int(seed),
        "codebook": f"{cb.name} {cb.version}",
    }
    if selective_return:
        params["selective_return"] = float(selective_return)
    if sim.item_shift:
        params["item_effects"] = dict(sorted(sim.item_shift.items()))
    if area_effect_sd:
        params["area_effect_sd"] = float(area_effect_sd)
    if retyped_keys:
        params["retyped_keys"] = float(retyped_keys)
        if tuple(kinds) != KEY_ERRORS:
            params["key_errors"] = tuple(kinds)
    return SyntheticStudy(wave1=wave1, wave2=wave2, truth=truth, params=params)


class _Simulation:
    """State shared by the two waves: the people and their persistent latent traits."""

    def __init__(
        self, cb: Codebook, rng: np.random.Generator, n_areas: int, effects: tuple[float, float]
    ) -> None:
        self.cb = cb
        self.rng = rng
        self.effects = effects
        self.group_codes = np.asarray(cb.group.codes, dtype=np.int64)
        self.key_offset = int(rng.integers(0, _KEY_SPACE))
        width = max(2, len(str(n_areas)))
        self.area_codes = [f"CC{k:0{width}d}" for k in range(1, n_areas + 1)]
        weights = rng.gamma(1.5, size=n_areas)
        self.area_probs = weights / weights.sum()
        both = [f for f in cb.items() if set(f.waves) >= {1, 2}]
        self.latent_items = [f for f in both
                             if f.measurement in ("ordinal", "binary") and f.levels
                             and f.select_group is None]
        self.select_items = [f for f in cb.items() if f.select_group is not None and f.levels]
        self.retyped = 0.0
        self.error_codes = np.arange(1, len(KEY_ERRORS) + 1, dtype=np.int64)
        self.key_rng = np.random.default_rng(0)
        self.item_shift: dict[str, float] = {}
        self.area_shift: npt.NDArray[np.float32] | None = None

    def wave1_answer(self, wave1: pd.DataFrame, truth1: pd.DataFrame, n1: int) -> FloatArray:
        """Each wave-1 person's standardised answer (level position) to the first experience
        item, from their first submission; 0 when missing or not answered."""
        out = np.zeros(n1)
        if not self.latent_items:
            return out
        f = self.latent_items[0]
        first = (truth1["kind"] == "wave 1").to_numpy()
        person = truth1["person"].to_numpy()[first]
        codes = pd.Series(wave1[f.name].to_numpy()[first], dtype="object")
        position = {c: i for i, c in enumerate(f.codes)}
        level = codes.map(position).to_numpy(dtype=np.float64, na_value=np.nan)
        ok = ~np.isnan(level)
        if ok.sum() > 1 and np.std(level[ok]) > 0:
            out[person[ok]] = (level[ok] - level[ok].mean()) / level[ok].std()
        return out

    # -- people -------------------------------------------------------------------------------
    def make_people(self, n_su: int, n_c: int, n_new: int) -> None:
        rng = self.rng
        n1 = n_su + n_c
        total = n1 + n_new
        share_su = n_su / n1
        new_is_su = _chance(rng, n_new, share_su)
        self.is_carer = np.concatenate(
            [np.zeros(n_su, bool), np.ones(n_c, bool), ~new_is_su]
        )
        self.u = rng.standard_normal(total)
        # One row per item, so a column of answers reads contiguous memory.
        self.v = rng.standard_normal((len(self.latent_items), total), dtype=np.float32)
        self.s = rng.standard_normal((len(self.select_items), total), dtype=np.float32)
        self.area = _draw_codes(rng, np.arange(len(self.area_codes)), self.area_probs, total)
        self.demog: dict[str, npt.NDArray[Any]] = {}
        for f in self.cb.demographics():
            self.demog[f.name] = self._categorical(f, self.is_carer)
        age = self.demog.get("age_band")
        self.age_older = (np.isin(age, [5, 6, 7]).astype(np.float64) if age is not None
                          else np.zeros(total))

    def _categorical(self, f: Field, is_carer: BoolArray) -> npt.NDArray[Any]:
        """Independent draws for a categorical field: profile or uniform, plus missing codes."""
        rng = self.rng
        n = len(is_carer)
        out = np.empty(n, dtype=object if f.type != "integer" else np.int64)
        profile = P.CATEGORICAL.get(f.name)
        for carer in (False, True):
            rows = np.flatnonzero(is_carer == carer)
            if profile is not None:
                table = profile.get(2 if carer else 1, profile.get("all"))
                assert table is not None
                codes = np.array(list(table), dtype=out.dtype)
                probs = np.array(list(table.values()), dtype=np.float64)
            else:
                codes = np.array(f.codes, dtype=out.dtype)
                probs = np.ones(len(codes))
            out[rows] = _draw_codes(rng, codes, probs, len(rows))
            self._missing_codes(f, out, rows, carer, listed=profile is not None)
        return out

    def _missing_codes(
        self, f: Field, out: npt.NDArray[Any], rows: IntArray, carer: bool, *, listed: bool
    ) -> None:
        """Replace answers in ``rows`` by the field's missing-value codes at their rates."""
        rates = P.CODE_RATES.get(f.name)
        for mc in f.missing:
            if rates is not None:
                rate = rates.get(mc.code, (0.0, 0.0))[1 if carer else 0]
            elif listed:
                continue  # the profile's table already holds its missing codes
            else:
                rate = P.MISSING_KIND_RATE.get(mc.kind, 0.0)
            hit = rows[_chance(self.rng, len(rows), rate)]
            out[hit] = mc.code

    # -- one wave -----------------------------------------------------------------------------
    def wave_frame(
        self, wave: int, pid: IntArray, kind: npt.NDArray[np.object_], conflict: BoolArray
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        cb, rng = self.cb, self.rng
        n = len(pid)
        is_carer = self.is_carer[pid]
        reported_carer = is_carer ^ conflict
        wi = cb.wave_info(wave) if any(w.number == wave for w in cb.waves) else None
        start, end = _DEFAULT_WINDOWS.get(wave, _DEFAULT_WINDOWS[1])
        if wi is not None and wi.fieldwork_start is not None and wi.fieldwork_end is not None:
            start, end = wi.fieldwork_start, wi.fieldwork_end
        span = (end - start).days + 1
        # Most questionnaires come in soon after the invitation (a Beta(1.2, 3) delay).
        day = np.minimum((rng.beta(1.2, 3.0, size=n) * span).astype(np.int16), span - 1)
        repeat = kind == "repeat submission"
        day[repeat] = np.minimum(day[repeat] + rng.integers(0, 8, size=int(repeat.sum())),
                                 span - 1)
        # Rows in order of submission; ties in random order (a stable radix sort of a
        # random permutation).
        perm = rng.permutation(n)
        order = perm[np.argsort(day[perm], kind="stable")]
        pid, kind, conflict = pid[order], kind[order], conflict[order]
        is_carer, reported_carer, day = is_carer[order], reported_carer[order], day[order]

        cols: dict[str, Any] = {}
        items_here = [f for f in cb.items(wave=wave)]
        # Part-completed questionnaires: items from a random position onwards are blank.
        stop = np.full(n, len(items_here), dtype=np.int64)
        quit_ = _chance(rng, n, P.BREAK_OFF)
        stop[quit_] = rng.integers(0, max(len(items_here), 1), size=int(quit_.sum()))
        item_pos = {f.name: i for i, f in enumerate(items_here)}
        select_first: dict[str | None, str] = {}
        for f in items_here:
            if f.select_group is not None:
                select_first.setdefault(f.select_group, f.name)
        # Some respondents skip a whole multi-select question (every box blank).
        skipped = {g: _chance(rng, n, P.SELECT_SKIP) for g in select_first}

        key_style = self._key_styles(wave, kind)
        key_error = np.zeros(n, dtype=np.int64)
        if wave == 2 and self.retyped > 0:
            eligible = (kind == "returner") & (key_style != 7) & (key_style != 5)
            hit = np.flatnonzero(eligible & (self.key_rng.random(n) < self.retyped))
            key_error[hit] = self.error_codes[
                self.key_rng.integers(0, len(self.error_codes), size=hit.size)]
        group_rows = (np.flatnonzero(~is_carer), np.flatnonzero(is_carer))
        shift = np.where(is_carer, P.CARER_SHIFT, 0.0)
        if wave == 2:
            shift += np.where(is_carer, self.effects[1], self.effects[0])
            if self.area_shift is not None:
                shift += self.area_shift[self.area[pid]]
        base = (math.sqrt(P.GENERAL_VAR) * self.u[pid] + shift).astype(np.float32)
        for f in cb.fields:
            if wave not in f.waves:
                continue
            if f.role == "identifier":
                width = max(5, len(str(n)))
                prefix = np.frombuffer(f"R{wave}-".encode(), dtype=np.uint8)
                mat = np.concatenate(
                    [np.broadcast_to(prefix, (n, len(prefix))),
                     _digits(np.arange(1, n + 1, dtype=np.int64), width)], axis=1
                )
                cols[f.name] = _ascii(mat)
            elif f.role == "link_key":
                cols[f.name] = _typed_keys(
                    rng, (pid * _KEY_MULT + self.key_offset) % _KEY_SPACE, key_style,
                    (self.key_rng, key_error) if key_error.any() else None,
                )
            elif f.role == "wave":
                cols[f.name] = pd.array(np.full(n, wave, dtype=np.int64), dtype="Int64")
            elif f.role == "group":
                cols[f.name] = pd.array(self.group_codes[reported_carer.astype(np.int64)],
                                        dtype="Int64")
            elif f.role == "area":
                cols[f.name] = _take(self.area_codes, self.area[pid],
                                     _chance(rng, n, P.AREA_BLANK))
            elif f.role == "date":
                dates = np.datetime64(start.isoformat(), "D") + day.astype("timedelta64[D]")
                cols[f.name] = dates.astype("datetime64[ns]")
            elif f.role == "demographic":
                values = self.demog[f.name][pid]
                blank = _chance(rng, n, P.DEMOGRAPHIC_BLANK)
                cols[f.name] = self._column(f, values, blank)
            elif f.role == "item":
                # A multi-select question is seen as a whole: its boxes are blank only
                # when the respondent stopped before it (or skipped it, below).
                pos = item_pos[select_first.get(f.select_group, f.name)]
                blank = stop <= pos
                if f.select_group is None:
                    blank |= _chance(rng, n, P.ITEM_BLANK)
                else:
                    blank |= skipped[f.select_group]
                cols[f.name] = self._item(f, wave, pid, is_carer, blank, base, group_rows)
            else:
                cols[f.name] = self._column(f, self._categorical(f, is_carer),
                                            _chance(rng, n, P.ITEM_BLANK))
        frame = pd.DataFrame(cols, copy=False)
        truth = pd.DataFrame({
            "wave": np.full(n, wave, dtype=np.int64),
            "respondent_id": cols[cb.identifier.name],
            "person": pid,
            "true_group": self.group_codes[is_carer.astype(np.int64)],
            "kind": kind,
            "key_style": _STYLE_NAMES[key_style],
            "group_conflict": conflict,
            "latent_general": self.u[pid],
            "key_error": _ERROR_NAMES[key_error],
        })
        return frame, truth

    def _key_styles(self, wave: int, kind: npt.NDArray[np.object_]) -> IntArray:
        rng = self.rng
        n = len(kind)
        style = np.empty(n, dtype=np.int64)
        groups: list[tuple[BoolArray, tuple[float, ...]]]
        if wave == 1:
            groups = [(np.ones(n, dtype=bool), P.KEY_STYLE_W1)]
        else:
            ret = kind == "returner"
            groups = [(ret, P.KEY_STYLE_W2_RETURNER), (~ret, P.KEY_STYLE_W2_NEW)]
        for mask, probs in groups:
            rows = np.flatnonzero(mask)
            style[rows] = _draw_codes(rng, np.arange(len(probs)), np.asarray(probs), len(rows))
        blank_rate = P.KEY_BLANK_W1 if wave == 1 else P.KEY_BLANK_W2
        style[_chance(rng, n, blank_rate)] = 7
        return style

    def _column(self, f: Field, values: npt.NDArray[Any], blank: BoolArray) -> Any:
        if f.type == "integer":
            return _nullable(values, blank)
        out = values.astype(object)
        out[blank] = None
        return out

    def _item(
        self, f: Field, wave: int, pid: IntArray, is_carer: BoolArray, blank: BoolArray,
        base: npt.NDArray[np.float32], group_rows: tuple[IntArray, IntArray],
    ) -> Any:
        rng = self.rng
        n = len(pid)
        if f in self.latent_items:
            j = self.latent_items.index(f)
            # base = sqrt(0.3) u_i + group mean + wave-2 effect (shared by the items).
            z = base + np.float32(math.sqrt(P.ITEM_VAR)) * self.v[j, pid]
            if wave == 2 and f.name in self.item_shift:
                z += np.float32(self.item_shift[f.name])
            z += np.float32(math.sqrt(P.NOISE_VAR)) * rng.standard_normal(n, dtype=np.float32)
            probs = P.LATENT_PROBS.get(f.name, tuple([1.0] * len(f.levels)))
            if len(probs) != len(f.levels):
                probs = tuple([1.0] * len(f.levels))
            level = np.zeros(n, dtype=np.int8)
            for cut in _thresholds(probs):  # level = number of cut points below z
                level += z > cut
            codes = np.asarray(f.codes, dtype=np.int64)[level]
            for carer, rows in enumerate(group_rows):
                self._missing_codes(f, codes, rows, bool(carer), listed=False)
            return self._column(f, codes, blank)
        if f.select_group is not None and f.levels:
            k = self.select_items.index(f)
            rate = P.SERVICE_RATES.get(f.name, (0.3, 0.3))[min(wave, 2) - 1]
            w = (math.sqrt(P.SERVICE_PERSIST) * self.s[k, pid]
                 + math.sqrt(1.0 - P.SERVICE_PERSIST) * rng.standard_normal(n, dtype=np.float32))
            selected = w > ndtri(1.0 - rate)
            codes = np.asarray(f.codes)[selected.astype(np.int64)]
            return self._column(f, codes, blank)
        if f.measurement == "text":
            return _comments(rng, n, blank)
        if f.measurement == "numeric":
            lo = f.minimum if f.minimum is not None else 0.0
            hi = f.maximum if f.maximum is not None else 100.0
            values = np.clip(np.round(rng.normal((lo + hi) / 2, (hi - lo) / 6, n)), lo, hi)
            if f.type == "integer":
                return _nullable(values.astype(np.int64), blank)
            return np.where(blank, np.nan, values)
        return self._column(f, self._categorical(f, is_carer), blank)


def _comments(rng: np.random.Generator, n: int, blank: BoolArray) -> Any:
    """Harmless synthetic comments for a quarter of respondents, missing for the rest."""
    pool = [f"{s} {v}{e}" for s in P.COMMENT_SUBJECTS for v in P.COMMENT_VERBS
            for e in P.COMMENT_ENDINGS]
    index = rng.integers(0, len(pool), size=n)
    return _take(pool, index, blank | (~_chance(rng, n, P.COMMENT_RATE)))
