"""
The research notebooks run top to bottom on the sample catalog (notebooks 2 and 3 on a short
backtest of it), in a kernel on this venv's Python, and draw their plots.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.catalog]

NOTEBOOKS = ROOT / "notebooks"
BACKTEST = Path(sys.executable).parent / "backtest"
KERNEL = "quotekit-test"


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A kernelspec on this interpreter, so the notebooks import this checkout's packages."""
    folder = tmp_path_factory.mktemp("kernels")
    spec = folder / KERNEL
    spec.mkdir()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    return KernelSpecManager(kernel_dirs=[str(folder)])


@pytest.fixture(scope="module")
def short_run(sample_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five minutes of configs/mm.yaml over the sample, as a user runs it."""
    work = tmp_path_factory.mktemp("notebook-run")
    config = yaml.safe_load((ROOT / "configs" / "mm.yaml").read_text())
    config["backtest"].update(
        catalog=str(sample_catalog), start="2026-01-05T00:00:00Z", end="2026-01-05T00:05:00Z"
    )
    path = work / "mm.yaml"
    path.write_text(yaml.safe_dump(config))
    out = work / "run"
    done = subprocess.run(
        [str(BACKTEST), "run", str(path), "--output", str(out), "--quiet"],
        capture_output=True,
        text=True,
        cwd=work,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _execute(name: str, kernel_specs: KernelSpecManager) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs)
    client = NotebookClient(
        notebook,
        km=manager,
        # Jupyter starts kernels in the notebook's folder; the notebooks find the project root.
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError naming the cell if any cell fails
    return notebook


def _images(notebook: nbformat.NotebookNode) -> int:
    return sum(
        1
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    )


def _text(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def test_notebooks_are_saved_without_outputs() -> None:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


def test_explore_catalog(
    sample_catalog: Path, kernel_specs: KernelSpecManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUOTEKIT_CATALOG", str(sample_catalog))
    notebook = _execute("01_explore_catalog.ipynb", kernel_specs)
    assert _images(notebook) >= 3
    assert str(sample_catalog) in _text(notebook)


@pytest.mark.parametrize(
    ("name", "plots"), [("02_backtest_run.ipynb", 3), ("03_fill_probability.ipynb", 2)]
)
def test_run_notebooks(
    name: str,
    plots: int,
    short_run: Path,
    kernel_specs: KernelSpecManager,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUOTEKIT_RUN_DIR", str(short_run))
    notebook = _execute(name, kernel_specs)
    assert _images(notebook) >= plots
    assert str(short_run) in _text(notebook)


def test_run_analysis_agrees_with_the_run_summary(short_run: Path) -> None:
    from catalog.run_analysis import load_run
    from catalog.run_analysis import markouts
    from catalog.run_analysis import pnl
    from catalog.run_analysis import quote_observations
    from catalog.run_analysis import run_books

    run = load_run(short_run)
    books = run_books(run)
    assert pnl(run, books)["total"].iloc[-1] == pytest.approx(run.summary["pnl_total"], abs=1e-6)
    marked = markouts(run, books, horizons=("0s", "5s"))
    assert len(marked) == run.summary["fills_buy"] + run.summary["fills_sell"] > 0
    assert marked["markout_0s"].notna().all()
    observations = quote_observations(run, books)
    assert observations["filled_next"].any()
    assert observations["distance_ticks"].notna().all()


def test_a_fresh_clone_gets_a_short_backtest(sample_catalog: Path, tmp_path: Path) -> None:
    """No run under runs/: the notebooks' default runs the config for a few minutes."""
    config = ROOT / "configs" / "mm.yaml"
    code = (
        "from catalog.run_analysis import resolve_run_dir, load_run; "
        f"run = load_run(resolve_run_dir(config={str(config)!r}, minutes=2)); "
        "print(run.path, run.start.isoformat(), run.end.isoformat())"
    )
    env = {**os.environ, "QUOTEKIT_CATALOG": str(sample_catalog)}
    env.pop("QUOTEKIT_RUN_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (made,) = (tmp_path / "runs").iterdir()
    path, start, end = done.stdout.split()
    assert path == str(Path("runs") / made.name)
    assert (start, end) == ("2026-01-05T00:00:00+00:00", "2026-01-05T00:02:00+00:00")
