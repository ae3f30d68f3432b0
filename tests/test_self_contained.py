"""A bare clone runs its tests and notebooks: nothing in tests/ or notebooks/ reads outside the repository."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = REPO_ROOT / "tests" / "data" / "real"

# A path literal that climbs out of the checkout, or names the developers' folder beside it.
_OUTSIDE = ("../", "..\\", "shared/data", "shared\\data")


def _string_literals(source: str) -> Iterator[tuple[int, str]]:
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value
        # `REPO_ROOT.parent`: the folder that holds the checkout, which a user's machine does not have
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "parent"
            and isinstance(node.value, ast.Name)
            and node.value.id == "REPO_ROOT"
        ):
            yield node.lineno, "REPO_ROOT.parent"


def _code_sources() -> Iterator[tuple[str, str]]:
    for path in sorted((REPO_ROOT / "tests").rglob("*.py")):
        if path.name != Path(__file__).name:
            yield str(path.relative_to(REPO_ROOT)), path.read_text(encoding="utf-8")
    for path in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "code":
                code = "".join(cell["source"])
                # IPython magics are not Python; they never name data paths here
                lines = code.split("\n")
                code = "\n".join("pass" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)
                yield f"{path.relative_to(REPO_ROOT)} cell {i}", code


@pytest.mark.parametrize(("where", "source"), list(_code_sources()), ids=lambda v: v if "/" in v else "")
def test_no_path_leaves_the_repository(where: str, source: str) -> None:
    bad = [
        (line, text)
        for line, text in _string_literals(source)
        if text == "REPO_ROOT.parent" or text == "shared" or any(mark in text for mark in _OUTSIDE)
    ]
    assert not bad, f"{where} reaches outside the checkout: {bad}"


def test_the_bundled_real_data_is_inside_the_checkout_and_complete() -> None:
    assert REAL_DATA.resolve().is_relative_to(REPO_ROOT.resolve())
    files = sorted(p.relative_to(REAL_DATA).as_posix() for p in REAL_DATA.rglob("*") if p.is_file())
    assert "README.md" in files
    uci = "uci-pt/s1/e4/"
    assert {f"{uci}u3/test.txt.gz", f"{uci}u4/test.txt.gz", f"{uci}test_times.csv"} <= set(files)
    mex_subjects = {f.split("/")[1] for f in files if f.startswith("mex/") and f.endswith(".csv.gz")}
    assert mex_subjects == {"01", "02", "03", *(str(s) for s in range(11, 31))}
    # small enough to live in git: a few MB at most
    assert sum((REAL_DATA / f).stat().st_size for f in files) < 4_000_000
