"""redis-py's own vector-set tests (tests/test_vsets.py from the redis sdist
on PyPI, the same version as the installed client) against VexLake, with
protocol=2 and protocol=3."""

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import redis
from conftest import VexLake

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vexlake-redis-py-sdist"


def _sdist_tests() -> Path:
    """The extracted sdist's tests/ folder, downloaded once with pip."""
    root = CACHE / f"redis-{redis.__version__}"
    if not (root / "tests" / "test_vsets.py").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             f"redis=={redis.__version__}", "-d", str(CACHE)],
            check=True,
        )
        with tarfile.open(CACHE / f"redis-{redis.__version__}.tar.gz") as tar:
            tar.extractall(CACHE, filter="data")
    return root


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_test_vsets(protocol):
    root = _sdist_tests()
    server = VexLake()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
             "-W", "ignore::pytest.PytestConfigWarning", "tests/test_vsets.py",
             f"--redis-url=redis://127.0.0.1:{server.port}", f"--protocol={protocol}"],
            cwd=root, capture_output=True, text=True, timeout=600,
        )
    finally:
        server.stop()
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, summary
