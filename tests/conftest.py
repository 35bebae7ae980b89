from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def sample_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded sample catalog, built once per test session."""
    from catalog.sample import ensure_sample_catalog

    path = tmp_path_factory.mktemp("sample") / "catalog"
    ensure_sample_catalog(path, progress=False)
    return path


def shared_data(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test when the captures are not checked out."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (real venue captures are optional)")
    return path
