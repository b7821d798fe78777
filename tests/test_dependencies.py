"""Dependencies point one way: tokens uses accounts and trustedapps; they never use tokens. Inside
each app no module imports itself back, through any chain of imports.

Read from the source with `ast`, so the test sees the imports as Python runs them, at module level
and inside functions alike (imports under `if TYPE_CHECKING:` are for the type checker only and do
not count).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUR_PACKAGES = ("common", "accounts", "trustedapps", "tokens", "scim")


def runtime_imports(path: Path) -> set[str]:
    """Our modules that a module imports when it runs, at module level or inside functions.

    `from tokens.domain import lifecycle` imports the module tokens.domain.lifecycle; `from
    tokens.models import ReferenceToken`, the module tokens.models.
    """
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                for alias in child.names:
                    submodule = f"{child.module}.{alias.name}"
                    found.add(submodule if is_module(submodule) else child.module)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name.split(".")[0] in OUR_PACKAGES}


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_of(package: str) -> list[Path]:
    return [path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]


def import_graph(package: str) -> dict[str, set[str]]:
    """Each module of `package` and the modules of the same package it imports."""
    return {
        module_name(path): {n for n in runtime_imports(path) if n.split(".")[0] == package}
        for path in modules_of(package)
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import one another, round and round (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.get(module, ()):
            if imported not in index:
                connect(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1 or module in graph.get(module, ()):
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            connect(module)
    return found


def reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module that importing `start` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for imported in graph.get(todo.pop(), ()):
            if imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return seen


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


@pytest.mark.parametrize("package", [*OUR_PACKAGES, "config"])
def test_no_module_of_an_app_imports_itself_back(package):
    assert cycles(import_graph(package)) == []


def test_the_cycle_finder_finds_a_cycle():
    # The test above can fail: a chain that comes back is found, whatever its length.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"], ["e"]]


def test_the_cycles_of_issue_19_are_gone():
    graph = import_graph("tokens")
    # The models are data: they reach no writer, notice, page or admin.
    assert not {
        module
        for module in reaches(graph, "tokens.models")
        if module.startswith(("tokens.domain.notices", "tokens.domain.lifecycle", "tokens.web"))
        or module.startswith(("tokens.admin", "tokens.domain.announce"))
    }
    # The token admin knows nothing of the admins that list tokens on users' and applications'
    # pages; they use the revoke action where it is defined.
    assert not {"tokens.admin.users", "tokens.admin.applications"} & reaches(
        graph, "tokens.admin.tokens"
    )


# SCIM provisioning (issue 22) sits on top: it uses accounts and tokens, and nothing uses it.
@pytest.mark.parametrize("package", ["common", "accounts", "trustedapps", "tokens"])
def test_no_app_imports_scim(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported)
        for path in modules_of(package)
        if (imported := {n for n in runtime_imports(path) if n.split(".")[0] == "scim"})
    }
    assert offenders == {}
