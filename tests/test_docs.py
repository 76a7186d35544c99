"""The documentation cannot rot: its code runs and its reference tables stay complete.

Every ```python block of every ``docs/*.md`` page is executed, in order, as one script per
page (blocks build on the earlier blocks of their page), from the repository root so a
page may read ``examples/*.toml`` the way a reader would. Blocks that are not meant to run
carry another tag (```text, ```toml). The reference pages are checked against the code:
every policy key, service operation, error class, reason code and event is documented, and
every relative link points at a file (and heading) that exists.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import attrs
import pytest

import poolkit.errors
from poolkit import Policy, PoolService, Reason
from poolkit.model.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# The README is a page too: its snippet is the first code a newcomer runs.
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
# The pages of the core documentation, which must show code, not only talk about it.
CORE_PAGES = ("index.md", "concepts.md", "policy.md", "operations.md", "time.md", "errors.md")


@attrs.frozen
class Block:
    tag: str
    line: int  # the line of the page where the code starts
    code: str


def fenced_blocks(page: Path) -> list[Block]:
    """The fenced blocks of a Markdown page; refuses a fence without a tag or left open."""
    blocks: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    opened: tuple[str, int] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        if opened is None:
            if line.startswith("```"):
                tag = line[3:].strip()
                if not tag:
                    pytest.fail(f"{page.name}:{number}: a fence needs a tag (python, text, ...)")
                opened, body = (tag, number + 1), []
        elif line.strip() == "```":
            blocks.append(Block(opened[0], opened[1], "\n".join(body) + "\n"))
            opened = None
        else:
            body.append(line)
    if opened is not None:
        pytest.fail(f"{page.name}:{opened[1] - 1}: the fence is never closed")
    return blocks


def page_text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_the_pages_are_found() -> None:
    names = {page.name for page in PAGES}
    assert set(CORE_PAGES) <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_python_blocks_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for block in fenced_blocks(page):
        if block.tag != "python":
            continue
        # Padding with blank lines makes a traceback name the line in the .md file.
        source = "\n" * (block.line - 1) + block.code
        exec(compile(source, str(page), "exec"), namespace)


@pytest.mark.parametrize("name", CORE_PAGES)
def test_core_pages_show_running_code(name: str) -> None:
    assert any(block.tag == "python" for block in fenced_blocks(DOCS / name))


def test_the_block_reader_sees_tags_lines_and_unclosed_fences(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("text\n```python\nx = 1\n```\n\n```toml\na = 1\n```\n")
    assert fenced_blocks(page) == [Block("python", 3, "x = 1\n"), Block("toml", 7, "a = 1\n")]
    page.write_text("```python\nx = 1\n")
    with pytest.raises(pytest.fail.Exception, match="never closed"):
        fenced_blocks(page)
    page.write_text("```\nx = 1\n```\n")
    with pytest.raises(pytest.fail.Exception, match="needs a tag"):
        fenced_blocks(page)


def test_policy_page_shows_the_example_policy_verbatim() -> None:
    example = (ROOT / "examples" / "policy.toml").read_text(encoding="utf-8")
    tomls = [block.code for block in fenced_blocks(DOCS / "policy.md") if block.tag == "toml"]
    assert example in tomls


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


def test_every_policy_key_is_documented() -> None:
    policy = Policy.from_toml(ROOT / "examples" / "policy.toml")
    text = page_text("policy.md")
    # per_rep tables are keyed by rep ids, which are examples, not keys of the format.
    keys = _keys(policy.to_dict()) - set(policy.caps.per_rep) - set(policy.claim_limit.per_rep)
    assert {"timezone", "warn_days", "count_locked", "window_days", "equals"} <= keys
    missing = sorted(key for key in keys if f"`{key}`" not in text)
    assert missing == []
    assert "drop_rules[2].days: must be > 0" in text


def test_every_key_of_routing_and_assignment_is_documented() -> None:
    """The keys the example policy file does not use: routing conditions, the routing
    default, automatic assignment (attribute names and rep ids are examples, not keys)."""
    policy = Policy.from_dict(
        {
            "routing_default": "east",
            "routing": [
                {"name": "n", "attributes": {"region": "north"}, "tags": ["t"], "pool": "north"}
            ],
            "assignment": [{"pool": "north", "strategy": "weighted", "weights": {"li": 2}}],
        }
    )
    keys = _keys(policy.to_dict()) - {"region", "li"}
    assert {"routing_default", "attributes", "tags", "strategy", "on", "weights"} <= keys
    text = page_text("policy.md")
    assert sorted(key for key in keys if f"`{key}`" not in text) == []


def test_every_operation_is_documented() -> None:
    text = page_text("operations.md")
    names = [name for name, _ in inspect.getmembers(PoolService) if not name.startswith("_")]
    assert "claim" in names and "sweep" in names
    missing = [name for name in names if not re.search(rf"`{name}[`(]", text)]
    assert missing == []


def test_every_error_is_documented() -> None:
    text = page_text("errors.md")
    errors = [
        name
        for name, value in vars(poolkit.errors).items()
        if isinstance(value, type) and issubclass(value, poolkit.errors.PoolkitError)
    ]
    assert "CollisionError" in errors
    missing = [name for name in errors if f"`{name}`" not in text]
    assert missing == []


def test_every_reason_code_and_event_is_in_the_concepts() -> None:
    text = page_text("concepts.md")
    missing = [reason.value for reason in Reason if f"`{reason.value}`" not in text]
    missing += [cls.__name__ for cls in EVENT_TYPES.values() if f"`{cls.__name__}`" not in text]
    assert missing == []


LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = heading.strip().lstrip("#").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    lines = page.read_text(encoding="utf-8").splitlines()
    in_code = False
    found = set()
    for line in lines:
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            found.add(slug(line))
    return found


def test_slugs_follow_github() -> None:
    assert slug("## `drop_rules`") == "drop_rules"
    assert slug("## Errors: what a bad policy says") == "errors-what-a-bad-policy-says"
    assert slug("### `create(actor_id, name)`") == "createactor_id-name"


def broken_links(page: Path) -> list[str]:
    """The relative links of a page whose file, or heading, does not exist."""
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # an absolute URL: not checked offline
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)  # the file is there, the heading is not
    return broken


def test_broken_links_are_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## A `key`\n\n```text\n# not a heading\n```\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-key) [gone](missing.md) [no heading](other.md#not-a-heading) "
        "[here](#page) [web](https://example.com/x.md)\n\n# Page\n"
    )
    assert broken_links(page) == ["missing.md", "other.md#not-a-heading"]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_relative_links_resolve(page: Path) -> None:
    assert broken_links(page) == []
