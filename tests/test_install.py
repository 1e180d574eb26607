"""A non-editable install builds like the repository: templates from the package, paths from the project."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from .conftest import AARS

REPO = Path(__file__).resolve().parents[1]


def test_a_wheel_installed_elsewhere_builds_a_school(built, tmp_path):
    source = tmp_path / "source"  # a copy: building in the checkout would leave build/ behind
    for name in ("lib", "notebooks"):
        shutil.copytree(REPO / name, source / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(wheel_dir), str(source)], check=True, capture_output=True, timeout=300)
    [wheel] = wheel_dir.glob("datapakke-*.whl")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    assert (site / "datapakke" / "templates" / "datapakke.ipynb").is_file()  # a copy, not a link to the repo
    assert not (site / "datapakke" / "templates").is_symlink()
    project = tmp_path / "projekt"
    project.mkdir()
    (project / "datapakke.yaml").write_text("workers: 1\n", encoding="utf-8")
    # the installed copy first on the path; the project folder is found from the working directory
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAPAKKE_")} | {"PYTHONPATH": str(site)}
    code = ("import datapakke, datapakke.config as c; print(datapakke.__file__); print(c.templates()); "
            "print(c.Paths.default().reports)")
    where = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                           cwd=project, check=True).stdout.splitlines()
    assert where[0].startswith(str(site)) and where[1].startswith(str(site)) and where[2] == str(project / "reports")
    base = tmp_path / "base"
    base.mkdir()
    for name in ("raw", "processed", "params"):
        (base / name).symlink_to(getattr(built, name), target_is_directory=True)
    result = subprocess.run([str(site / "bin" / "datapakke"), "build", "--base", str(base), "--skole", AARS,
                             "--ingen-oversigter"], capture_output=True, text=True, env=env, cwd=project, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "1 af 1 skoler bygget." in result.stdout
    [report] = (base / "reports" / "vesthimmerland").glob(f"{AARS}-*.ipynb")
    nb = nbformat.read(report, as_version=4)
    assert nb.metadata.papermill["input_path"].startswith(str(site))
