"""Linking respondents across the two waves, and checking who came back.

:func:`link_waves` matches wave-1 and wave-2 respondents on the codebook's link key
(normalised, optionally pseudonymised with HMAC-SHA256) and returns a :class:`LinkedStudy`
whose :class:`LinkageReport` accounts for every row. :func:`attrition_table` compares the
wave-1 respondents who were linked with those who were not. The rules and their reasons are
in ``docs/linkage.md``. Keys without an exact partner that differ by one retyping error
are *candidate pairs*: linked only as the policy says (``link_waves(linkage=...)``), and
reviewed by a person through :func:`write_review_file`.
"""

from ._attrition import attrition_table, standardized_difference
from ._keys import normalise_keys, pseudonymise
from ._linkage import link_waves
from ._report import LinkageReport
from ._study import LinkedStudy
from ._tolerant import review_sha256, write_review_file

__all__ = [
    "LinkageReport",
    "LinkedStudy",
    "attrition_table",
    "link_waves",
    "normalise_keys",
    "pseudonymise",
    "review_sha256",
    "standardized_difference",
    "write_review_file",
]
