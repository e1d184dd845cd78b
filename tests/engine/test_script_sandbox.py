"""Scripts and conditions in a diagram cannot escape the sandbox or run forever.

Each attempt must end the instance in ``error`` with the element and a clear message, and must
not have had its effect (no file written, no module imported).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.bootstrap import Wiring
from tests.engine import documents

ESCAPES = {
    "import": ("import os\nx = os.getcwd()", "import"),
    "dunder import": ("x = __import__('os')", "__import__"),
    "subclass walk": ("x = ().__class__.__base__.__subclasses__()", "__class__"),
    "getattr dunder": ("x = getattr((), '__class__')", "getattr"),
    "format attribute": ("x = '{0.__class__}'.format(1)", "format"),
    "open file": ("x = open('/etc/passwd').read()", "open"),
    "exec": ("exec('import os')", "exec"),
    "eval": ("x = eval('1 + 1')", "eval"),
    "globals": ("x = globals()", "globals"),
    "socket": ("import socket\ns = socket.socket()", "import"),
    "type builder": ("x = type('X', (), {})", "type"),
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_escape_attempt_is_a_clear_error(wiring: Wiring, name: str) -> None:
    code, clue = ESCAPES[name]
    wiring.service.deploy(documents.script(code).encode())
    instance = wiring.service.start("scripted")
    assert instance.status == "error", f"{name} was allowed to run"
    assert instance.error["element_id"] == "Script_1"
    assert clue.lower() in instance.error["message"].lower(), instance.error["message"]
    assert "x" not in instance.data


def test_condition_cannot_write_a_file(wiring: Wiring, tmp_path: Path) -> None:
    target = tmp_path / "owned.txt"
    wiring.service.deploy(documents.condition(f"open({str(target)!r}, 'w').write('x') &gt; 0").encode())
    instance = wiring.service.start("conditioned")
    assert instance.status == "error" and instance.error["element_id"] == "gw"
    assert not target.exists()


def test_runaway_loop_is_stopped_at_the_time_limit(wiring: Wiring) -> None:
    wiring.service.deploy(documents.script("n = 0\nwhile True:\n    n = n + 1").encode())
    started = time.monotonic()
    instance = wiring.service.start("scripted")
    elapsed = time.monotonic() - started
    assert instance.status == "error" and instance.error["element_id"] == "Script_1"
    assert "longer than 1 s" in instance.error["message"]
    assert elapsed < 10  # stopped near the 1 s limit of the test settings, not hung


def test_ordinary_scripts_still_work(wiring: Wiring) -> None:
    code = ("total = sum([p['monto'] for p in partidas])\n"
            "mayores = sorted([p['clave'] for p in partidas if p['monto'] > 100])\n"
            "resumen = f'{len(partidas)} partidas, total {total}'")
    wiring.service.deploy(documents.script(code).encode())
    instance = wiring.service.start("scripted", {"partidas": [{"clave": "A", "monto": 50},
                                                              {"clave": "B", "monto": 150}]})
    assert instance.status == "running"
    assert instance.data["total"] == 200 and instance.data["mayores"] == ["B"]
    assert instance.data["resumen"] == "2 partidas, total 200"
