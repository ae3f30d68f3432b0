"""Every notebook runs top to bottom against a database built through the real writer API.

The kernel is the project's own interpreter (a kernelspec written to a temp dir that points at
``sys.executable``), so the notebooks import this checkout's packages whatever kernels the machine has.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from hipsync.records import Recording, SessionAnalysis

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
KERNEL_NAME = "hipsync-test"


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JUPYTER_PATH entry with one kernelspec running this interpreter."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "hipsync test", "language": "python"})
    )
    return root


@pytest.fixture(scope="module")
def no_sets_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HIPSYNC_HOME whose only session has samples (no gyro) but no sets: the empty corner of every plot."""
    from flows.imports import import_recording

    home = tmp_path_factory.mktemp("no-sets-home")
    t = np.arange(500) / 50.0
    rec = Recording(
        time_s=t,
        accel_g=np.tile([0.0, 0.0, 1.0], (t.size, 1)),
        fs_hz=50.0,
        started_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
    )
    result = import_recording(
        home / "hipsync.duckdb", rec, analysis=SessionAnalysis(sets=(), algorithm_version="t")
    )
    assert result.status == "analysed"
    return home


#: Code run after notebook 02's last cell: what its charts were drawn from, as JSON the tests read.
PROBE_02 = """
import json as _json
print("PROBE " + _json.dumps({
    "volume": _json.loads(volume.to_json(orient="records")),
    "left_right_titles": [ax.get_title() for ax in axes],
    "left_right_legend": [t.get_text() for t in axes[0].get_legend().get_texts()],
}))
"""


def _runs(program_home: Path, no_sets_home: Path, one_leg_home: Path) -> list[tuple[str, Path, str | None]]:
    """(result key, notebook, code run right after its parameter cell) for every execution."""
    runs: list[tuple[str, Path, str | None]] = [(p.stem, p, None) for p in NOTEBOOKS]
    runs += [(f"{p.stem}[no-sets]", p, f"HIPSYNC_HOME = {str(no_sets_home)!r}") for p in NOTEBOOKS[:2]]
    runs.append((f"{NOTEBOOKS[1].stem}[one-leg]", NOTEBOOKS[1], f"HIPSYNC_HOME = {str(one_leg_home)!r}"))
    return runs


def _probe(key: str) -> str | None:
    return PROBE_02 if key.startswith("02_") and not key.endswith("[no-sets]") else None


@pytest.fixture(scope="module")
def executed(
    kernel_dir: Path, program_home: Path, no_sets_home: Path, one_leg_home: Path
) -> dict[str, nbformat.NotebookNode | CellExecutionError]:
    """Every notebook executed top to bottom, in ONE kernel with its namespace reset between notebooks.

    Sharing the kernel pays its start and the heavy imports (pandas, matplotlib, scipy) once instead of
    three times; ``%reset -f`` gives each notebook an empty namespace, so none leans on another's variables.
    Notebooks 01 and 02 run a second time with the parameter ``HIPSYNC_HOME`` pointing at a database
    without sets (set by a cell run right after the parameter cell, as papermill would), and 02 a third
    time on one leg's data. After 02 a probe cell (:data:`PROBE_02`) prints what its charts were drawn from.
    """
    results: dict[str, nbformat.NotebookNode | CellExecutionError] = {}
    with pytest.MonkeyPatch.context() as mp:
        # the kernel inherits this environment: HIPSYNC_HOME selects the fixture's data
        mp.setenv("HIPSYNC_HOME", str(program_home))
        mp.setenv("JUPYTER_PATH", str(kernel_dir))
        mp.delenv("HIPSYNC_REAL_DATA", raising=False)
        client = NotebookClient(
            nbformat.v4.new_notebook(),
            kernel_name=KERNEL_NAME,
            timeout=120,
            allow_errors=False,
            resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        )
        # notebooks that set os.environ["HIPSYNC_HOME"] from their parameter must not leak it to the next
        reset = nbformat.v4.new_code_cell(
            "%reset -f\nimport os\nos.environ['HIPSYNC_HOME'] = "
            + repr(str(program_home))
            + "\nimport matplotlib.pyplot as plt\nplt.close('all')\ndel plt, os"
        )
        with client.setup_kernel():
            for key, path, override in _runs(program_home, no_sets_home, one_leg_home):
                nb = nbformat.read(path, as_version=4)
                client.nb = nb
                client.reset_execution_trackers()
                client.execute_cell(reset, 0)
                try:
                    for index, cell in enumerate(nb.cells):
                        client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                        if override and "parameters" in cell.metadata.get("tags", []):
                            client.execute_cell(nbformat.v4.new_code_cell(override), index)
                    if probe := _probe(key):
                        nb.cells.append(nbformat.v4.new_code_cell(probe))
                        client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
                except CellExecutionError as e:
                    results[key] = e
                else:
                    results[key] = nb
    return results


def _text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            parts.append(o.get("text", ""))
            parts.append(o.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_there_are_three_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_session_explorer.ipynb",
        "02_weekly_progress.ipynb",
        "03_algorithm_check.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    assert all(not c.outputs and c.execution_count is None for c in code), "run nbstripout on it"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and "needs" in first.source, "the first cell says what it needs"
    assert "HIPSYNC_HOME" in first.source


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(
    path: Path, executed: dict[str, nbformat.NotebookNode | CellExecutionError]
) -> None:
    nb = executed[path.stem]
    if isinstance(nb, CellExecutionError):
        pytest.fail(f"{path.name} failed:\n{nb}")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    n_images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert n_images >= 3, f"expected plots, got {n_images} images"
    if path.stem.startswith("03"):
        text = _text(nb)
        assert "uci-pt/s1/e4/u3/test.txt" in text, "the real-recordings part did not run"
        assert "stored_version" in text, "the own-sessions part did not run"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS[:2], ids=[p.stem for p in NOTEBOOKS[:2]])
def test_notebook_copes_with_a_database_without_sets(
    path: Path, executed: dict[str, nbformat.NotebookNode | CellExecutionError]
) -> None:
    nb = executed[f"{path.stem}[no-sets]"]
    if isinstance(nb, CellExecutionError):
        pytest.fail(f"{path.name} failed on a database without sets:\n{nb}")
    expected = "this session has no reps to show" if path.stem.startswith("01") else "0 sessions with sets"
    assert expected in _text(nb), "the override of HIPSYNC_HOME did not take effect"


def _probed(nb: nbformat.NotebookNode | CellExecutionError) -> dict[str, Any]:
    if isinstance(nb, CellExecutionError):
        pytest.fail(f"notebook failed:\n{nb}")
    [line] = [ln for ln in _text(nb).splitlines() if ln.startswith("PROBE ")]
    doc: dict[str, Any] = json.loads(line.removeprefix("PROBE "))
    return doc


@pytest.mark.slow
def test_weekly_progress_keeps_a_mixed_unit_week_in_both_units(
    executed: dict[str, nbformat.NotebookNode | CellExecutionError],
) -> None:
    """W47's Monday leg raises: one set logged as a green band, the other on the 2 kg ankle weight. The
    volume chart draws both, each in its own unit's panel, instead of dropping the week."""
    volume = _probed(executed["02_weekly_progress"])["volume"]
    mixed = {
        r["load_unit"]: r
        for r in volume
        if (r["iso_week"], r["exercise"], r["side"]) == ("2026-W47", "side_lying_leg_raise", "left")
    }
    assert set(mixed) == {"band_level", "kg"}
    assert mixed["band_level"]["n_sets"] == 1 and mixed["kg"]["n_sets"] == 1
    assert mixed["band_level"]["volume_load"] == 3.0 * mixed["band_level"]["n_reps"]  # green band = level 3
    assert mixed["kg"]["volume_load"] == 2.0 * mixed["kg"]["n_reps"]


@pytest.mark.slow
def test_left_against_right_draws_only_the_legs_with_data(
    executed: dict[str, nbformat.NotebookNode | CellExecutionError],
) -> None:
    both = _probed(executed["02_weekly_progress"])
    assert both["left_right_legend"] == ["left leg", "right leg"]
    one = _probed(executed["02_weekly_progress[one-leg]"])
    assert one["left_right_legend"] == ["left leg"]
    assert all("only the left leg has data" in t for t in one["left_right_titles"])
