"""Dependencies point one way: tokens uses accounts and trustedapps; they never use tokens.

Read from the source with `ast`, so the test sees module-level imports as Python runs them
(imports under `if TYPE_CHECKING:` are for the type checker only and do not count).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUR_PACKAGES = ("common", "accounts", "trustedapps", "tokens")


def runtime_imports(path: Path) -> set[str]:
    """Our packages that a module imports when it runs, at module level or inside functions."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.add(child.module)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name.split(".")[0] in OUR_PACKAGES}


def modules_of(package: str) -> list[Path]:
    return [path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]


@pytest.mark.parametrize("package", ["accounts", "trustedapps"])
def test_accounts_and_trustedapps_never_import_tokens(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported)
        for path in modules_of(package)
        if (imported := {n for n in runtime_imports(path) if n.split(".")[0] == "tokens"})
    }
    assert offenders == {}


def test_common_imports_none_of_our_apps():
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported)
        for path in modules_of("common")
        if (imported := {n for n in runtime_imports(path) if n.split(".")[0] != "common"})
    }
    assert offenders == {}


def test_only_tokens_imports_the_models_of_both_other_apps():
    # accounts points at trustedapps only by a string foreign key, and trustedapps reaches the
    # user model through get_user_model(): neither imports the other's models when it runs.
    for package, other in (("accounts", "trustedapps"), ("trustedapps", "accounts")):
        for path in modules_of(package):
            assert f"{other}.models" not in runtime_imports(path), path
    tokens_imports = set().union(*(runtime_imports(path) for path in modules_of("tokens")))
    assert {"accounts.models", "trustedapps.models"} <= tokens_imports
