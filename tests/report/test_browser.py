"""The report rendered by a real browser: Debian's ``chromium``, headless.

Chromium renders the report's page, with its what-if section, to a screenshot (kept in
pytest's temporary folder; its path is printed) and dumps the DOM it built, in one run; a
second test renders the page ``poolkit report`` writes. The test checks the
figures are in the rendered DOM, every chart has its bars, the screenshot is not blank and
shows the charts' colours, and the browser logged no error from the page. Without chromium
the test is skipped with one line; in CI (``CI=true``) it fails instead, so it can never be
skipped there silently. A few seconds.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from _report_book import DAYS_AHEAD, DAYS_BACK, NASTY, build, parse, what_if

from poolkit.cli import main
from poolkit.report import render_html

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOW_TO_GET = "install it with `apt-get install -y chromium`"
WIDTH, HEIGHT = 1200, 4000

if CHROMIUM is None and not IN_CI:
    pytest.skip(f"chromium not found: {HOW_TO_GET}", allow_module_level=True)


def chromium(tmp_path: Path, *options: str, page: Path) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.fail(f"CI=true but chromium is not installed: {HOW_TO_GET}", pytrace=False)
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={WIDTH},{HEIGHT}",
            # Half the pixels each way: the bars keep solid colours, the check reads less.
            "--force-device-scale-factor=0.5",
            # Nothing may be fetched: any host name resolves to nowhere.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            *options,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def pixels(png: bytes) -> list[tuple[int, int, int]]:
    """The RGB pixels of an 8-bit RGB or RGBA PNG (what chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    raw, stride = zlib.decompress(data), width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        rows.append(line)
        previous = line
    return [(row[x], row[x + 1], row[x + 2]) for row in rows for x in range(0, stride, channels)]


def test_the_report_renders_in_chromium(tmp_path: Path, say: Callable[[str], None]) -> None:
    svc, report = build()
    page = tmp_path / "report.html"
    page.write_text(
        render_html(report, what_if=what_if(svc), candidate="stricter.toml"), encoding="utf-8"
    )
    shot = tmp_path / "report.png"

    # One run paints the screenshot and prints the DOM it rendered.
    run = chromium(tmp_path, f"--screenshot={shot}", "--dump-dom", page=page)
    say(f"report screenshot: {shot}")
    errors = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert errors == []

    rendered = parse(run.stdout)
    assert rendered.bars == {
        "pool-0": 3,
        "pool-1": 1,
        "flows": DAYS_BACK,
        "forecast": DAYS_AHEAD,
        "caps": 3,
        "claims": 3,
        "what-if-caps": 1,
        "what-if-claims": 1,
        "what-if-pools": 1,
    }
    assert "script" not in rendered.tags
    words = " ".join(" ".join(rendered.text).split())
    assert "8 customers" in words  # the east pool's heading
    assert "all grades 3 4 1 8" in words
    assert f"{NASTY} (li)" in words
    assert "open items 1" in words
    assert "What if: stricter.toml" in words
    assert "drops 4 4 warnings 4 0" in words
    assert "chen1 Chen (chen) east 2026-03-10 09:00 +08:00 (stale-7)" in words

    colours = set(pixels(shot.read_bytes()))
    assert len(colours) > 20, "the screenshot is blank"
    for name, rgb in {
        "public": (0x2F, 0x7D, 0xD1),
        "owned": (0x3A, 0xA6, 0x75),
        "out": (0xD4, 0x76, 0x3B),
        "warnings": (0xE3, 0xB4, 0x3C),
        "what-if drops now": (0x7B, 0x87, 0x94),
    }.items():
        assert rgb in colours, f"no {name} bar painted"


def test_the_page_written_by_the_command_renders(tmp_path: Path) -> None:
    db, page = tmp_path / "pool.db", tmp_path / "out.html"
    root = Path(__file__).resolve().parents[2] / "examples" / "cli"
    now = ["--db", str(db), "--now", "2026-03-02T09:00:00+08:00"]
    setup = ["init", "--policy", str(root / "policy.toml"), "--team", str(root / "team.toml")]
    assert main([*now, *setup]) == 0
    assert main([*now, "report", "--out", str(page), "--days-back", "5"]) == 0
    rendered = parse(chromium(tmp_path, "--dump-dom", page=page).stdout)
    assert rendered.bars["flows"] == 5
