"""The registry: every module it lists must import, and a missing one stops the start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from server import app as app_module
from server import registry, workers
from server.registry import MissingModule, collect_routes, load, load_task


def test_every_listed_module_imports_and_has_what_its_list_promises() -> None:
    for name in registry.HANDLER_MODULES + registry.SANDBOX_MODULES:
        assert load(name).routes, name
    for name in registry.INDEX_MODULES:
        assert callable(load(name).ensure_indexes), name
    for name in registry.DEMO_MODULES:
        assert callable(load(name).load_demo), name
    for name, _, target in registry.PERIODIC_TASKS:
        assert callable(load_task(target)), name


def test_a_missing_handler_module_stops_the_route_table(monkeypatch) -> None:
    with pytest.raises(MissingModule, match="'handlers.not_written_yet'") as raised:
        collect_routes(["handlers.health", "handlers.not_written_yet"])
    assert raised.value.name == "handlers.not_written_yet"
    monkeypatch.setattr(app_module, "HANDLER_MODULES", [*registry.HANDLER_MODULES, "handlers.not_written_yet"])
    with pytest.raises(MissingModule):
        app_module.route_table(sandbox=False)


def test_a_module_missing_a_dependency_says_which(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "broken_feature.py").write_text("import no_such_dependency_xyz\nroutes = []\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as raised:
        collect_routes(["broken_feature"])
    assert not isinstance(raised.value, MissingModule)
    assert raised.value.name == "no_such_dependency_xyz"


def test_a_missing_periodic_task_stops_the_workers(monkeypatch) -> None:
    monkeypatch.setattr(workers, "PERIODIC_TASKS", [("gone", 1.0, "models.outbox:no_such_task")])
    with pytest.raises(AttributeError, match="no_such_task"):
        workers.periodic_tasks()
    monkeypatch.setattr(workers, "PERIODIC_TASKS", [("gone", 1.0, "models.no_such_module:run")])
    with pytest.raises(MissingModule, match="models.no_such_module"):
        workers.periodic_tasks()
