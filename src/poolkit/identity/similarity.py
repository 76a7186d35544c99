"""Fuzzy company-name matching: a similarity score and cheap blocking keys for an index.

Exact equality of :func:`~poolkit.identity.normalise.normalise_name` catches most duplicates;
these two functions catch the near misses (a typo, a missing character) for review:

* :func:`name_similarity` scores two names 0..100;
* :func:`blocking_keys` gives each name a handful of short keys, so that a store can look up
  the names sharing a key in an index and score only those, instead of scoring every name
  it holds.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from poolkit.errors import InvalidKeyError
from poolkit.identity._memo import remembered
from poolkit.identity.normalise import _CJK_CLASS, normalise_name

__all__ = [
    "blocking_keys",
    "name_blocks",
    "name_similarity",
    "normal_form",
    "normalised_similarity",
]

# Names whose compacted length is at most this also get 2-character anchors (see below).
_SHORT_NAME = 6


def name_similarity(a: str, b: str) -> float:
    """Similarity of two company names, 0 (nothing alike) to 100 (same normalised name).

    Both names are normalised first (:func:`normalise_name`; an empty name raises
    :class:`~poolkit.errors.InvalidKeyError`), so 深圳市某某科技有限公司 and
    某某科技（深圳）有限公司 score 100.

    Scorer: the larger of ``fuzz.ratio`` and ``fuzz.token_sort_ratio``. ``ratio`` is a
    character-level edit similarity, which suits Chinese names (no word boundaries, every
    character carries meaning) and Latin typos alike. ``token_sort_ratio`` additionally
    forgives reordered Latin words ("technology moumou"); for a Chinese name, which has no
    spaces after normalisation, it equals ``ratio``. ``partial_ratio`` and
    ``token_set_ratio`` are avoided on purpose: they score a name contained in a longer one
    as 100 ("moumou" vs "moumou technology", 华为 vs 华为技术), which would make every short
    name look like a duplicate of everything that contains it.
    """
    return normalised_similarity(normalise_name(a), normalise_name(b))


def normalised_similarity(na: str, nb: str) -> float:
    """:func:`name_similarity` of two names already normalised: for scoring one name
    against many without normalising it again each time."""
    return max(fuzz.ratio(na, nb), fuzz.token_sort_ratio(na, nb))


def blocking_keys(name: str) -> frozenset[str]:
    """Short keys of a company name for candidate lookup; two near-identical names share one.

    The name is normalised first. Keys are namespaced strings:

    * ``^abc`` and ``$xyz``: the first and last 3 characters of the name without spaces, and
      for names of at most 6 such characters also the first and last 2. These anchors make a
      guarantee: two names of 4+ characters that differ by one inserted, deleted or
      substituted character always share an anchor (an edit cannot touch both ends). Every
      pair that :func:`name_similarity` scores 85 or more at one edit apart is covered.
    * ``b:某某``: every pair of adjacent Chinese characters (bigrams), so Chinese names that
      share a word match even when their ends differ.
    * ``w:moumou`` and ``p:mou``: each Latin/digit word, and its first 3 letters.

    Common keys (``b:科技``, ``p:tec``) select many names; a store may skip keys whose
    posting list is very long and rely on the others.
    """
    normalised = normalised_name(name)
    compact = normalised.replace(" ", "")
    keys = {f"^{compact[:3]}", f"${compact[-3:]}"}
    if len(compact) <= _SHORT_NAME:
        keys |= {f"^{compact[:2]}", f"${compact[-2:]}"}
    # Found by regular expressions (in C), not a Python step a character.
    keys.update(["b:" + pair for pair in _CJK_PAIR.findall(compact)])
    for word in _LATIN_WORD.findall(normalised):
        keys.add("w:" + word)
        if len(word) > 3:
            keys.add("p:" + word[:3])
    return frozenset(keys)


# Every pair of adjacent Chinese characters (overlapping: found by a look-ahead).
_CJK_PAIR = re.compile(f"(?=([{_CJK_CLASS}]{{2}}))")
# The maximal runs of non-Chinese characters, split at spaces.
_LATIN_WORD = re.compile(f"[^ {_CJK_CLASS}]+")


def name_blocks(name: str) -> frozenset[str]:
    """The blocking keys a store indexes for a customer's name, and a lookup asks for: none
    for a name that normalises to nothing (such a name has no look-alikes to find).

    Remembered for up to 32,768 names (about 40 MB at most): a create asks for its
    name's blocks to look up look-alikes and its store again to index them, and an import
    sorts the stored names of common blocks by their blocks batch after batch."""
    return frozenset(_name_blocks(name))


@remembered(1 << 15)
def _name_blocks(name: str) -> tuple[str, ...]:
    # Remembered as a tuple of strings, which the garbage collector stops tracking (see
    # poolkit.identity._memo): a cache of frozensets was walked, block by block, by every
    # full collection.
    try:
        return tuple(blocking_keys(name))
    except InvalidKeyError:
        return ()


# The same names are normalised again and again: a new name for its blocks and for its
# scores, and a stored name each time it is a candidate (a common key's first
# ``per_block`` customers come back for row after row of an import); as the import
# benchmark's profile shows, remembering them is most of the saving.
normalised_name = remembered(1 << 17)(normalise_name)
""":func:`~poolkit.identity.normalise.normalise_name`, remembered for up to 131,072 names
(a pure function; an empty result still raises each time)."""


def normal_form(name: str) -> str | None:
    """The normal form of a customer's name that a store keeps beside its blocks
    (:func:`~poolkit.identity.normalise.normalise_name`), or None for a name that
    normalises to nothing (it has no blocks either). A lookup of look-alikes compares the
    candidates by their stored normal forms: normalising each stored name again, for every
    new name it is a candidate of, was half of an import into a large book."""
    try:
        return normalised_name(name)
    except InvalidKeyError:
        return None
