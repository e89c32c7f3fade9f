"""The browser tests assert with Playwright's web-first `expect`, never with a one-shot state read.

A form post is a full page navigation. `Locator.is_visible()`, `.is_hidden()`, `.is_checked()`, `.is_enabled()`
and `.count()` answer at once, about whatever page is there at that instant: right after a click that is often
still the previous page, or a page half loaded, so `assert loc.is_visible()` fails now and then (and
`assert loc.count() == 0` passes for the wrong page). `expect(loc).to_be_visible()`, `.to_have_count(n)` and the
other `expect` assertions wait until they hold. This test fails, naming file:line, on any `assert` in
tests/e2e/test_*.py whose expression calls one of those methods.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parents[1] / "e2e"
ONE_SHOT = {"is_visible", "is_hidden", "is_checked", "is_enabled", "is_disabled", "is_editable", "count"}


def one_shot_asserts(source: str, filename: str) -> list[str]:
    """file:line of every `assert` that calls a non-retrying Locator state method (`x.count()` with no argument:
    `str.count("a")` and `list.count(x)` take one)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Assert):
            continue
        for call in ast.walk(node.test):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in ONE_SHOT \
                    and not (call.func.attr == "count" and call.args):
                found.append(f"{filename}:{call.lineno}: assert ... .{call.func.attr}() -> "
                             f"use expect(...) (to_be_visible, to_be_hidden, to_be_checked, to_be_enabled, "
                             f"to_have_count), which waits for the page")
    return found


def test_the_guard_finds_one_shot_asserts():
    old = '''
def test_old(page):
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_role("heading", name="Valid", exact=True).is_visible()
    assert checks.get_by_text("Failed").count() == 0
    assert page.locator(".opblock").count() > 40
    assert not page.get_by_role("alert").is_hidden() and page.get_by_label("Theft").is_checked()
    assert "x" in text and text.count("x") == 1  # str.count: not a locator
'''
    assert [f.split(":")[1] for f in one_shot_asserts(old, "old.py")] == ["4", "5", "6", "7", "7"]


E2E_FILES = sorted(E2E.glob("test_*.py"))


def test_there_are_browser_tests_to_check():
    assert len(E2E_FILES) >= 5, E2E_FILES


@pytest.mark.parametrize("path", E2E_FILES, ids=lambda p: p.name)
def test_browser_tests_assert_with_expect(path):
    found = one_shot_asserts(path.read_text(encoding="utf-8"), str(path.relative_to(E2E.parents[1])))
    assert not found, "\n".join(found)
