"""verimath installs as one namespace, `verimath`, both editable and as a wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_python(
    code: str, cwd: Path, env_path: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    if env_path:
        env["PYTHONPATH"] = env_path
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env
    )


def test_editable_install_maps_the_top_level_folders(tmp_path: Path):
    code = (
        "import verimath, verimath.retrieval, verimath.tools, verimath.graphs, verimath.corpora\n"
        "print(verimath.__file__); print(verimath.tools.__file__)\n"
        "print(verimath.corpora.default_corpus_path().is_file())"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    main_file, tools_file, corpus = result.stdout.split()
    assert Path(main_file) == REPO / "agent" / "__init__.py"
    assert Path(tools_file) == REPO / "tools" / "__init__.py"
    assert corpus == "True"


@pytest.mark.parametrize("bare", ["agent", "tools", "retrieval", "graphs", "corpora"])
def test_no_bare_top_level_modules(tmp_path: Path, bare: str):
    result = run_python(f"import {bare}", tmp_path)
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


@pytest.mark.slow
def test_wheel_holds_only_the_verimath_namespace_and_imports(tmp_path: Path):
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)]
    subprocess.run([*build, str(REPO)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("verimath-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"verimath", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "verimath/corpora/default.jsonl" in names and "verimath/tools/worker.py" in names
    target = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target)]
    subprocess.run([*install, str(wheel)], check=True, capture_output=True)
    site = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    code = "import verimath; from verimath import Agent; print(verimath.__file__)"
    result = run_python(f"import sys; sys.path.insert(0, {str(target)!r}); {code}", tmp_path, site)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(target / "verimath" / "__init__.py")
