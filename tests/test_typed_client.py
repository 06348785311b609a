"""Mini-program teams generate a typed client from /openapi.json: the generated types compile, and
they are real types (misuse fails to compile), with the pinned openapi-typescript and TypeScript."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from handlers.openapi import build_spec
from server.app import route_table

CLIENT = Path(__file__).resolve().parent.parent / "clients" / "typescript"
BIN = CLIENT / "node_modules" / ".bin"

pytestmark = pytest.mark.skipif(not (BIN / "tsc").exists(), reason="make setup installs clients/typescript (npm ci)")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client's types generated once for this module's tests."""
    tmp_path = tmp_path_factory.mktemp("client")
    (tmp_path / "openapi.json").write_text(json.dumps(build_spec(route_table(sandbox=False)), ensure_ascii=False))
    for name in ("tsconfig.json", "usage.ts"):
        shutil.copy(CLIENT / name, tmp_path / name)
    made = run(str(BIN / "openapi-typescript"), "openapi.json", "-o", "citygate-api.d.ts",
                "--default-non-nullable", "false", "--empty-objects-unknown", cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    return tmp_path


def test_the_generated_types_compile_with_the_usage_example(generated) -> None:
    checked = run(str(BIN / "tsc"), "-p", ".", cwd=generated)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_misuse_of_the_generated_types_does_not_compile(generated, tmp_path) -> None:
    folder = tmp_path / "misuse"
    shutil.copytree(generated, folder)
    (folder / "misuse.ts").write_text(
        'import type { paths } from "./citygate-api";\n'
        'type Body = paths["/api/v1/applications"]["post"]["requestBody"]["content"]["application/json"];\n'
        'export const wrong: Body = { service_code: 42 };\n')
    checked = run(str(BIN / "tsc"), "-p", ".", cwd=folder)
    assert checked.returncode != 0
    assert "misuse.ts(3," in checked.stdout and "TS2322" in checked.stdout, checked.stdout
