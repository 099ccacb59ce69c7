"""The acyclic_modules import-linter contract finds a cycle between two modules (even through an import
inside a function) and passes a package without one."""

import sys

import grimp
import pytest

from tools.import_contracts import AcyclicModulesContract


def _package(root, name: str, files: dict[str, str]) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module, source in files.items():
        (package / f"{module}.py").write_text(source)


def _check(tmp_path, monkeypatch, name: str, files: dict[str, str]):
    _package(tmp_path, name, files)
    monkeypatch.syspath_prepend(str(tmp_path))
    contract = AcyclicModulesContract(name="no cycles", session_options={"root_packages": [name]},
                                      contract_options={"packages": [name], "skip": ["tests"]})
    return contract.check(grimp.build_graph(name, cache_dir=None), verbose=False)


def test_a_cycle_through_an_import_inside_a_function_breaks_the_contract(tmp_path, monkeypatch):
    check = _check(tmp_path, monkeypatch, "cyclic_pkg", {
        "signing": "def clear():\n    from cyclic_pkg import jwks\n    jwks.clear()\n",
        "jwks": "from cyclic_pkg import signing\n",
    })
    assert not check.kept
    assert check.metadata["cycles"] == [["cyclic_pkg.jwks -> cyclic_pkg.signing",
                                         "cyclic_pkg.signing -> cyclic_pkg.jwks"]]


def test_a_package_without_cycles_keeps_it(tmp_path, monkeypatch):
    check = _check(tmp_path, monkeypatch, "layered_pkg", {
        "models": "", "services": "from layered_pkg import models\n", "views": "from layered_pkg import services\n",
        "tests": "from layered_pkg import views\nfrom layered_pkg import models\n",
    })
    assert check.kept, check.metadata


@pytest.fixture(autouse=True)
def _forget_modules():
    yield
    for name in [name for name in sys.modules if name.startswith(("cyclic_pkg", "layered_pkg"))]:
        del sys.modules[name]
