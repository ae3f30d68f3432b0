"""Export to Parquet and CSV through DuckDB COPY: every table, same rows, optional samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from flows.imports import import_recording
from storage.export import EXPORT_TABLES, export


def test_export_parquet_with_samples(
    tmp_path: Path, db_file: Path, rng: np.random.Generator, kit: Any
) -> None:
    rec = kit.make_recording(rng, duration_s=30.0)
    import_recording(db_file, rec, analysis=kit.make_analysis(), loads={"clamshell": "band:red"})
    written = export(db_file, tmp_path / "out", "parquet", include_samples=True)
    assert set(written) == {*EXPORT_TABLES, "samples"}
    counts = kit.table_counts(db_file)
    for table, path in written.items():
        assert path.exists() and path.suffix == ".parquet"
        assert pq.read_table(path).num_rows == counts[table]
    samples = pq.read_table(written["samples"])
    np.testing.assert_allclose(samples.column("t_s").to_numpy(), rec.time_s)
    sets = pq.read_table(written["sets"]).to_pylist()
    assert [s["resistance"] for s in sets] == ["band:red", None]


def test_export_csv_without_samples_to_an_awkward_path(
    tmp_path: Path, db_file: Path, rng: np.random.Generator, kit: Any
) -> None:
    import_recording(db_file, kit.make_recording(rng, duration_s=20.0), analysis=kit.make_analysis())
    out = tmp_path / "it's mine; DROP TABLE sessions"
    written = export(db_file, out, "csv")
    assert "samples" not in written
    reps = pacsv.read_csv(written["reps"])
    assert reps.num_rows == 18
    assert {"rom_deg", "concentric_s", "partial", "peak_concentric_speed_dps"} <= set(reps.column_names)
    assert kit.table_counts(db_file)["sessions"] == 1
    with pytest.raises(ValueError):
        export(db_file, out, "xlsx")  # type: ignore[arg-type]
