"""The fake Bot API uses only python-telegram-bot's public API.

PTB's modules whose names start with an underscore (`telegram._utils`, `telegram._bot`...) can
change in any release; a fake that imports them could break on a PTB upgrade while the bot
itself keeps working. The check reads each module's source with `ast`, so an import inside a
function or under `if TYPE_CHECKING:` counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "fakebotapi"
MODULES = sorted(PACKAGE.rglob("*.py"))


def private_telegram_imports(source: str) -> list[str]:
    """Each import of a private PTB module in `source`, as `line: module`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from telegram import _utils` reaches a private module as much as a dotted path.
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "telegram" and any(part.startswith("_") for part in parts[1:]):
                found.append(f"{node.lineno}: {module}")
    return found


def test_the_package_has_modules_to_check() -> None:
    assert {path.name for path in MODULES} >= {"server.py", "simulator.py", "transport.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_no_module_of_the_fake_imports_a_private_ptb_module(path: Path) -> None:
    assert private_telegram_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "from telegram._utils.types import ODVInput",
        "import telegram._bot",
        "from telegram import _utils",
        "def f():\n    from telegram.ext._application import Application",
        "if TYPE_CHECKING:\n    from telegram._utils.defaultvalue import DefaultValue",
    ],
)
def test_the_check_finds_private_imports(source: str) -> None:
    assert private_telegram_imports(source) != []


def test_the_check_allows_the_public_api() -> None:
    source = "import telegram\nfrom telegram.request import BaseRequest\nfrom telegram import Bot"
    assert private_telegram_imports(source) == []
