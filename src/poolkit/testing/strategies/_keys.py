"""Identity keys in their normalised form, with valid check digits."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from poolkit.model.customer import IdentityKey
from poolkit.testing.strategies._people import ids

#: Identity key kinds :func:`identity_keys` produces; ``wechat`` is not a collision key by
#: default, so a customer can carry keys that never collide.
KEY_KINDS: tuple[str, ...] = ("phone", "uscc", "org_code", "email", "wechat")


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # the letters a credit code may carry
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_check(body: str) -> str:
    """GB 11714 check character of an organisation code body."""
    total = sum(
        (int(c) if c.isdigit() else ord(c) - ord("A") + 10) * w
        for c, w in zip(body, _ORG_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def uscc_check(body: str) -> str:
    """GB 32100 check character of the first 17 characters of a credit code."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total) % 31]


def _org_codes() -> st.SearchStrategy[str]:
    return (
        st.text(_ORG_ALPHABET, min_size=8, max_size=8)
        .filter(lambda body: body != "00000000")
        .map(lambda body: body + org_check(body))
    )


@st.composite
def _usccs(draw: st.DrawFn) -> str:
    authority = draw(st.sampled_from("9512"))
    kind = draw(st.sampled_from("123"))
    region = draw(st.sampled_from(("110000", "310000", "440300", "330100", "510100")))
    org = draw(_org_codes())
    body = authority + kind + region + org
    return body + uscc_check(body)


_PHONE_PREFIXES = ("130", "135", "138", "139", "150", "158", "186", "189")


def _phones() -> st.SearchStrategy[str]:
    return st.builds(
        lambda prefix, rest: f"+86{prefix}{rest:08d}",
        st.sampled_from(_PHONE_PREFIXES),
        st.integers(0, 99_999_999),
    )


def _emails() -> st.SearchStrategy[str]:
    local = st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,5})?", fullmatch=True)
    domain = st.sampled_from(("example.com", "qq.com", "163.com", "acme.cn", "mail.example.org"))
    return st.builds(lambda a, b: f"{a}@{b}", local, domain)


_KEY_VALUES: dict[str, Callable[[], st.SearchStrategy[str]]] = {
    "phone": _phones,
    "uscc": lambda: _usccs(),
    "org_code": _org_codes,
    "email": _emails,
    "wechat": lambda: st.from_regex(r"wx_[a-z0-9]{3,10}", fullmatch=True),
}


def identity_keys(kinds: Sequence[str] = KEY_KINDS) -> st.SearchStrategy[IdentityKey]:
    """:class:`~poolkit.model.customer.IdentityKey` values of the given kinds, each value in
    its normalised form with valid check digits: E.164 mainland mobiles (``+8613812345678``),
    18-character unified social credit codes, 9-character organisation codes, lower-case
    emails, and ``wechat`` ids. A kind outside :data:`KEY_KINDS` gets short generic values.
    """
    return st.one_of([_keys_of(kind) for kind in kinds])


def _keys_of(kind: str) -> st.SearchStrategy[IdentityKey]:
    values = _KEY_VALUES.get(kind, ids)()
    return values.map(lambda value: IdentityKey(kind, value))
