"""A test that checks nothing passes whatever the code does: every test function must assert.

Counted as a check: an ``assert`` statement, ``pytest.raises``/``pytest.warns``/``pytest.fail``,
Playwright's ``expect(...)``, or a call to a helper whose name says it checks
(``assert_*``, ``expect_*``, ``check_*``, ``verify_*``) or to a helper of the same module
that itself checks (e.g. ``_refused`` wrapping ``pytest.raises``), anywhere in the test's body.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CHECKING_CALLS = {"raises", "warns", "fail", "expect", "deprecated_call"}
CHECKING_PREFIXES = ("assert", "expect", "check", "verify")


def _called_name(call: ast.Call) -> str:
    func = call.func
    while isinstance(func, ast.Call):  # expect(x).to_have_text(...) → expect
        func = func.func
    if isinstance(func, ast.Attribute):
        inner = func.value
        while isinstance(inner, ast.Call | ast.Attribute):
            inner = inner.func if isinstance(inner, ast.Call) else inner.value
        if isinstance(inner, ast.Name) and inner.id == "expect":
            return "expect"
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def checks_something(function: ast.FunctionDef | ast.AsyncFunctionDef, helpers: frozenset[str] = frozenset()) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            name = _called_name(node)
            if name in CHECKING_CALLS or name in helpers or name.lower().startswith(CHECKING_PREFIXES):
                return True
    return False


def find_tests_without_a_check(root: Path = TESTS) -> list[str]:
    found = []
    for path in sorted(root.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        helpers = frozenset(n.name for n in functions if not n.name.startswith("test") and checks_something(n))
        for node in functions:
            if node.name.startswith("test"):
                if not checks_something(node, helpers):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name}")
    return found


def test_every_test_function_checks_something() -> None:
    assert find_tests_without_a_check() == []


def test_the_check_itself_tells_an_empty_test_from_a_real_one(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "def test_nothing():\n    x = 1\n"
        "async def test_only_calls(client):\n    await client.get('/')\n"
        "def test_asserts():\n    assert 1\n"
        "def test_raises():\n    with pytest.raises(ValueError):\n        int('x')\n"
        "def test_expect(page):\n    expect(page.locator('h1')).to_have_text('x')\n"
        "def _refused(x):\n    with pytest.raises(ValueError):\n        int(x)\n"
        "def test_through_a_checking_helper():\n    _refused('x')\n",
        encoding="utf-8",
    )
    flagged = [line.rsplit(" ", 1)[1] for line in find_tests_without_a_check(tmp_path)]
    assert flagged == ["test_nothing", "test_only_calls"]
