"""Response distributions of the synthetic crisis-care survey (private).

The numbers are invented but plausible for an online survey of people who used mental
health crisis services and of carers in England in 2014-2015. They are documented, with the
model that uses them, in ``docs/sample-study.md``. Fields of a custom codebook that are not
listed here get the generic rules at the bottom of this module.
"""

from __future__ import annotations

from typing import Final

# -- structure of the latent model ------------------------------------------------------------
#: Share of the latent variance that is the respondent's general disposition (shared by every
#: experience item and both waves).
GENERAL_VAR: Final = 0.30
#: Share that is the respondent's persistent view of one item (shared by both waves).
ITEM_VAR: Final = 0.20
#: The rest (0.50) is wave-specific noise; the correlation of a returner's two answers to the
#: same item on the latent scale is GENERAL_VAR + ITEM_VAR = 0.5.
NOISE_VAR: Final = 1.0 - GENERAL_VAR - ITEM_VAR
#: Carers rate crisis care a little lower than service users (latent mean, SD units).
CARER_SHIFT: Final = -0.15
#: Share of a service column's latent propensity that persists between a returner's waves.
SERVICE_PERSIST: Final = 0.40
#: Who returns in wave 2: log selection weight per SD of general disposition and for
#: respondents aged 45 or over, so the attrition table has something to show.
RETURN_SELECTION_LATENT: Final = 0.30
RETURN_SELECTION_OLDER: Final = 0.25

# -- rates of the linkage scenarios -----------------------------------------------------------
#: Wave-1 respondents who submitted the questionnaire twice (a second row, same person).
REPEAT_RATE_W1: Final = 0.012
REPEAT_RATE_W2: Final = 0.008
#: Returners who answered wave 2 in the other respondent group (at least 2 when possible).
GROUP_CONFLICT_RATE: Final = 0.006
#: Responses with a blank link key.
KEY_BLANK_W1: Final = 0.04
KEY_BLANK_W2: Final = 0.03
#: How a key was typed. Styles: 0 "ABCD-1234", 1 "abcd-1234", 2 "ABCD1234", 3 "ABCD 1234",
#: 4 " ABCD-1234 " (surrounding spaces), 5 typo (a digit typed as a letter: "AB" vs "A8"),
#: 6 "abcd1234". Style 5 only happens to returners in wave 2; it defeats linkage on purpose.
KEY_STYLE_W1: Final = (0.78, 0.09, 0.06, 0.04, 0.03, 0.0, 0.0)
KEY_STYLE_W2_RETURNER: Final = (0.52, 0.14, 0.11, 0.09, 0.05, 0.03, 0.06)
KEY_STYLE_W2_NEW: Final = (0.78, 0.09, 0.06, 0.04, 0.03, 0.0, 0.0)

# -- item non-response ------------------------------------------------------------------------
#: Blank answer to any one item, independently.
ITEM_BLANK: Final = 0.02
#: Blank demographic answer; blank area.
DEMOGRAPHIC_BLANK: Final = 0.012
AREA_BLANK: Final = 0.02
#: Respondents who stop part-way: every item from a uniformly chosen item onwards is blank.
BREAK_OFF: Final = 0.06
#: Respondents who skip a whole multi-select question (every one of its columns blank).
SELECT_SKIP: Final = 0.04
#: Share of respondents who write a comment.
COMMENT_RATE: Final = 0.25
#: Generic rate of each missing-value code, by kind, for fields without a profile.
MISSING_KIND_RATE: Final = {"dont_know": 0.03, "not_applicable": 0.05, "prefer_not_to_say": 0.03}

# -- answers ----------------------------------------------------------------------------------
#: Experience items modelled on the latent scale: probabilities of the levels (codebook order,
#: lowest first) for service users in wave 1.
LATENT_PROBS: Final[dict[str, tuple[float, ...]]] = {
    "overall_rating": (0.16, 0.20, 0.26, 0.26, 0.12),
    "exp_help_when_needed": (0.18, 0.22, 0.17, 0.30, 0.13),
    "exp_help_speed": (0.20, 0.22, 0.25, 0.20, 0.13),
    "exp_dignity": (0.10, 0.15, 0.20, 0.37, 0.18),
    "exp_listened": (0.15, 0.20, 0.19, 0.32, 0.14),
    "exp_understood": (0.15, 0.21, 0.22, 0.30, 0.12),
    "exp_knew_contact": (0.45, 0.55),
    "exp_involved": (0.17, 0.22, 0.23, 0.27, 0.11),
    "exp_family_involved": (0.14, 0.20, 0.27, 0.28, 0.11),
    "exp_followup": (0.55, 0.45),
}
#: Rates of missing-value codes by field, keyed by code: (service users, carers).
CODE_RATES: Final[dict[str, dict[int | str, tuple[float, float]]]] = {
    "overall_rating": {8: (0.02, 0.02)},
    "exp_help_when_needed": {8: (0.03, 0.03)},
    "exp_help_speed": {8: (0.06, 0.08)},
    "exp_dignity": {8: (0.03, 0.04)},
    "exp_listened": {8: (0.03, 0.04)},
    "exp_understood": {8: (0.04, 0.05)},
    "exp_knew_contact": {8: (0.06, 0.05)},
    "exp_involved": {8: (0.04, 0.06)},
    "exp_family_involved": {8: (0.03, 0.03), 7: (0.12, 0.04)},
    "exp_followup": {8: (0.05, 0.07)},
    "age_band": {9: (0.03, 0.03)},
    "gender": {9: (0.03, 0.02)},
    "ethnicity": {9: (0.04, 0.03)},
}
#: Multi-select services: probability of "Selected" in wave 1 and wave 2 (both groups).
SERVICE_RATES: Final[dict[str, tuple[float, float]]] = {
    "svc_ae": (0.42, 0.40),
    "svc_police": (0.28, 0.24),
    "svc_police_cell": (0.09, 0.04),
    "svc_crisis_team": (0.48, 0.52),
    "svc_helpline": (0.30, 0.34),
    "svc_gp": (0.55, 0.55),
    "svc_voluntary": (0.22, 0.25),
}
#: Categorical answers drawn independently (items of one wave only, demographics): probability
#: of each code, missing-value codes included. Keyed by field, then group (1 service user,
#: 2 carer; "all" for both).
CATEGORICAL: Final[dict[str, dict[int | str, dict[int | str, float]]]] = {
    # Evaluation summary: "Around 20% of respondents were aware of Crisis Care Concordat work".
    "aware_concordat": {"all": {1: 0.20, 2: 0.55, 3: 0.25}},
    # "the majority of participants did not feel there had been any improvement".
    "local_change": {"all": {1: 0.17, 2: 0.38, 3: 0.15, 8: 0.30}},
    "age_band": {
        1: {1: 0.03, 2: 0.14, 3: 0.22, 4: 0.23, 5: 0.20, 6: 0.12, 7: 0.06},
        2: {1: 0.01, 2: 0.04, 3: 0.10, 4: 0.18, 5: 0.27, 6: 0.24, 7: 0.16},
    },
    "gender": {1: {1: 0.62, 2: 0.34, 3: 0.04}, 2: {1: 0.75, 2: 0.24, 3: 0.01}},
    "ethnicity": {"all": {1: 0.84, 2: 0.03, 3: 0.06, 4: 0.05, 5: 0.02}},
}

# -- comments ---------------------------------------------------------------------------------
COMMENT_SUBJECTS: Final = (
    "The crisis team",
    "Staff at A&E",
    "The helpline",
    "My GP",
    "The police officers",
    "The community mental health team",
    "The voluntary service",
    "The night staff",
    "The liaison nurse",
    "Services in general",
)
COMMENT_VERBS: Final = (
    "took time to listen",
    "took too long to respond",
    "explained what would happen next",
    "did not seem to talk to other services",
    "made a real difference",
    "could not be reached out of hours",
    "treated me with respect",
    "could have involved my family more",
)
COMMENT_ENDINGS: Final = (".", " this time.", " on the whole.", " in my experience.")
