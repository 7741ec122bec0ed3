"""The import graph, read statically (``ast``; nothing is imported): one direction, no cycles.

Layers, lowest first (``LAYERS``): utils <- data_provider <- layers <- models <- exp <- report,
run_main <- timellm_api <- bench <- tests. A module may import its own top-level package and the
layers of lower rank; two packages of the same rank (``report`` and ``run_main``) may not import
each other. ``timellm_api`` (the Python API) sits on ``run_main`` to parse keywords with its parser.
``report`` reads finished runs: it may import ``exp`` and everything below it, and nothing but
``bench`` and ``tests`` may import it.

Checks, each failing with every offending import as ``path:line: importer -> imported``:

- (a) no cycle between project modules (every import counts, also one inside a function; only
  those under ``if TYPE_CHECKING:`` do not);
- (b) no upward import (into a package of the same or a higher rank);
- (c) outside ``tests/``, no import inside a function or class body except of the optional heavy
  dependencies of ``LAZY_OK``: packages that cost seconds to import or may be absent, and that
  only some runs need (DeepSpeed with ``--use_deepspeed``, peft with ``--peft lora``,
  TensorBoard with ``--report_to tensorboard``, matplotlib for plots, gguf for converting the
  embedded SmolLM2). Everything else is imported at the top of the module: the project's own
  modules, the standard library, and the dependencies every run of some model needs (torch,
  numpy, pandas, accelerate, tqdm, transformers).
- (d) every import of a project module names one that exists, and every name taken from it
  (``from pkg.mod import name``) is a submodule or is defined at its top level (catches an
  import left behind when a module moves).
- (e) a test module (``tests/**/test_*.py``) imports no other test module, no ``conftest`` and no
  fixture by name: what tests share lives in ``tests/helpers/``, fixtures in ``tests/conftest.py``
  (pytest hands them over by parameter name); no other module under ``tests/`` defines a fixture.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from layers.fast.options import FAST_PATH_ELSEWHERE
from tests.helpers.project import ROOT, project_files

LAYERS = {"utils": 0, "data_provider": 1, "layers": 2, "models": 3, "exp": 4,
          "report": 5, "run_main": 5, "timellm_api": 6, "bench": 7, "tests": 8, "conftest": 8}
LAZY_OK = ("deepspeed", "peft", "tensorboard", "torch.utils.tensorboard", "matplotlib", "gguf")


@dataclass(frozen=True)
class Import:
    """One import statement's target, as written in ``path`` at ``line``."""

    importer: str     # dotted module name of the importing file
    imported: str     # dotted name of the imported module (a project module, or an outside one)
    written: str      # the module as written (``a.b`` in ``import a.b`` / ``from a.b import c``)
    name: str | None  # ``c`` of ``from a.b import c``, None for ``import a.b``
    path: str
    line: int
    nested: bool      # inside a function or class body
    type_only: bool   # under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        shown = self.imported if self.imported == f"{self.written}.{self.name}" else self.written
        return f"{self.path}:{self.line}: {self.importer} -> {shown}"


def module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def top(name: str) -> str:
    return name.split(".", 1)[0]


class _Collector(ast.NodeVisitor):
    """Every import of one module, with whether it sits in a function/class or a TYPE_CHECKING block."""

    def __init__(self, importer: str, is_package: bool):
        self.importer, self.is_package = importer, is_package
        self.depth, self.type_only = 0, 0
        self.found: list[tuple[str, list[str], int, bool, bool]] = []

    def _nested(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _nested

    def visit_If(self, node: ast.If):
        test = node.test
        guard = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
                (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
        self.type_only += guard
        for child in node.body:
            self.visit(child)
        self.type_only -= guard
        for child in node.orelse:
            self.visit(child)

    def _add(self, base: str, names: list[str], node):
        self.found.append((base, names, node.lineno, self.depth > 0, self.type_only > 0))

    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            self._add(alias.name, [], node)

    def visit_ImportFrom(self, node: ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = self.importer.split(".")
            package = package if self.is_package else package[:-1]
            package = package[:len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        self._add(base, [a.name for a in node.names], node)


def module_files(root: Path = ROOT) -> dict[str, Path | None]:
    """Every project module (tests included) -> its file; None for a folder without ``__init__.py``."""
    files: dict[str, Path | None] = {module_name(rel): root / rel
                                     for rel in project_files(root, include_tests=True)}
    for name in list(files):
        parts = name.split(".")
        for n in range(1, len(parts)):
            files.setdefault(".".join(parts[:n]), None)
    return files


def defined_names(path: Path | None) -> set[str] | None:
    """Names bound at the top level of a module (None: any name, a module ``__getattr__`` or ``*``)."""
    if path is None:
        return set()
    names: set[str] = set()

    def bind(target):
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                bind(elt)

    def walk(body) -> bool:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.name == "__getattr__":
                    return False
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    bind(target)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                bind(node.target)
            elif isinstance(node, ast.Import):
                names.update(a.asname or a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if any(a.name == "*" for a in node.names):
                    return False
                names.update(a.asname or a.name for a in node.names)
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                blocks = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])]
                blocks += [h.body for h in getattr(node, "handlers", [])]
                if not all(walk(b) for b in blocks):
                    return False
        return True

    return names if walk(ast.parse(path.read_text()).body) else None


def collect_imports(root: Path = ROOT) -> tuple[set[str], list[Import]]:
    """(project module names, every import of every project file, tests included)."""
    files = project_files(root, include_tests=True)
    modules = set(module_files(root))
    found = []
    for rel in files:
        importer = module_name(rel)
        c = _Collector(importer, rel.name == "__init__.py")
        c.visit(ast.parse((root / rel).read_text(), filename=str(rel)))
        for base, names, line, nested, type_only in c.found:
            for name in names or [None]:
                target = f"{base}.{name}" if name and f"{base}.{name}" in modules else base
                found.append(Import(importer, resolve(target, modules), base, name, rel.as_posix(), line,
                                    nested, type_only))
    return modules, found


def resolve(name: str, modules: set[str]) -> str:
    """The project module ``name`` loads (its longest prefix that is one), or ``name`` itself."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in modules:
            return ".".join(parts[:n])
    return name


def project_edges(modules: set[str], imports: list[Import]) -> list[Import]:
    tops = {top(m) for m in modules}
    return [i for i in imports if top(i.imported) in tops and i.imported != i.importer]


def upward(imports: list[Import], modules: set[str]) -> list[str]:
    bad = []
    for i in project_edges(modules, imports):
        a, b = top(i.importer), top(i.imported)
        if a == b:
            continue
        if a not in LAYERS or b not in LAYERS:
            bad.append(f"{i}  (no layer for {a if a not in LAYERS else b}: add it to LAYERS)")
        elif LAYERS[b] >= LAYERS[a]:
            allowed = sorted((k for k, r in LAYERS.items() if r < LAYERS[a]), key=LAYERS.get)
            bad.append(f"{i}  ({a} may import only " + ", ".join([a] + allowed) + ")")
    return bad


def cycles(imports: list[Import], modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each as its sorted members."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for i in project_edges(modules, imports):
        if not i.type_only:
            graph[i.importer].add(i.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack, on_stack, out = [], set(), []

    def visit(v: str):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def dangling(imports: list[Import], root: Path = ROOT) -> list[str]:
    """Imports of a project module that does not exist, or of a name it does not define."""
    files = module_files(root)
    tops = {top(m) for m in files}
    cache: dict[str, set[str] | None] = {}
    bad = []
    for i in imports:
        if top(i.written) not in tops:
            continue
        if i.written not in files:
            bad.append(f"{i.path}:{i.line}: {i.importer} imports {i.written}: no such module")
        elif i.name is not None and f"{i.written}.{i.name}" not in files:
            if i.written not in cache:
                cache[i.written] = defined_names(files[i.written])
            names = cache[i.written]
            if names is not None and i.name not in names:
                bad.append(f"{i.path}:{i.line}: {i.importer} imports {i.name} from {i.written}, "
                           "which neither defines it nor has such a submodule")
    return bad


def is_test_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "tests" and parts[-1].startswith("test_")


def is_fixture(decorator: ast.expr) -> bool:
    """``@pytest.fixture``, ``@fixture``, called or not."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Attribute) and target.attr == "fixture") or \
        (isinstance(target, ast.Name) and target.id == "fixture")


def fixture_names(path: Path | None) -> set[str]:
    """The functions of a module decorated as pytest fixtures (at any depth)."""
    if path is None:
        return set()
    return {node.name for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and any(map(is_fixture, node.decorator_list))}


def shared_test_code(imports: list[Import], root: Path = ROOT) -> list[str]:
    """Test modules importing another test module, a conftest or a fixture; fixtures defined in a
    module under tests/ that is neither a test module nor a conftest."""
    files = module_files(root)
    fixtures: dict[str, set[str]] = {}
    bad = []
    for i in imports:
        if not is_test_module(i.importer):
            continue
        if is_test_module(i.imported) or i.imported.split(".")[-1] == "conftest":
            bad.append(f"{i}  (a test module imports no other: move what they share to tests/helpers/)")
        elif i.name is not None and i.written in files:
            if i.written not in fixtures:
                fixtures[i.written] = fixture_names(files[i.written])
            if i.name in fixtures[i.written]:
                bad.append(f"{i.path}:{i.line}: {i.importer} imports the fixture {i.name} from {i.written}  "
                           "(define it in tests/conftest.py: pytest passes it by name)")
    for name, path in sorted(files.items()):
        if path is None or name.split(".")[0] != "tests" or is_test_module(name) or name.endswith("conftest"):
            continue
        bad += [f"{path.relative_to(root)}: defines the fixture {f}  (define it in tests/conftest.py)"
                for f in sorted(fixture_names(path))]
    return bad


def lazy(imports: list[Import]) -> list[str]:
    def allowed(name: str) -> bool:
        return any(name == ok or name.startswith(ok + ".") for ok in LAZY_OK)

    return [str(i) for i in imports if i.nested and top(i.importer) != "tests" and not allowed(i.imported)]


def write_tree(root: Path, files: dict[str, str]) -> None:
    """Write ``files`` (path relative to ``root`` -> text), for the checkers' own tests."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


@pytest.fixture(scope="module")
def graph():
    return collect_imports()


def _fail(what: str, lines: list[str]):
    lines = list(dict.fromkeys(lines))  # ``from m import a, b`` is one offence
    if lines:
        pytest.fail(f"{len(lines)} {what}:\n" + "\n".join(lines), pytrace=False)


def test_no_import_cycles(graph):
    modules, imports = graph
    lines = []
    for comp in cycles(imports, modules):
        members = set(comp)
        lines.append("cycle " + " <-> ".join(comp) + ":")
        lines += [f"  {i}" for i in project_edges(modules, imports)
                  if i.importer in members and i.imported in members and not i.type_only]
    _fail("import cycle(s)", lines)


def test_imports_point_down_the_layers(graph):
    modules, imports = graph
    _fail("upward import(s)", upward(imports, modules))


def test_no_imports_inside_functions(graph):
    _, imports = graph
    _fail(f"import(s) inside a function or class (allowed there: {', '.join(LAZY_OK)})", lazy(imports))


def test_imports_name_modules_and_names_that_exist(graph):
    _, imports = graph
    _fail("import(s) of something that does not exist", dangling(imports))


def test_test_modules_share_code_only_through_helpers_and_conftest(graph):
    _, imports = graph
    _fail("test module import(s) of test code outside tests/helpers/ and tests/conftest.py",
          shared_test_code(imports))


def test_the_test_module_check_sees_what_it_should(tmp_path):
    """The checker of (e), on a tiny tree: a test module importing another, a conftest, a
    fixture, and a helper module defining one; a helper's plain function is fine."""
    write_tree(tmp_path, {
        "tests/__init__.py": "",
        "tests/conftest.py": "import pytest\n\n@pytest.fixture\ndef ok():\n    return 1\n",
        "tests/helpers/__init__.py": "",
        "tests/helpers/h.py": "from pytest import fixture\n\n@fixture(scope='session')\ndef fx():\n"
                              "    return 1\n\ndef plain():\n    return 2\n",
        "tests/test_a.py": "from tests.test_b import thing\nfrom tests import conftest\n",
        "tests/test_b.py": "thing = 1\n",
        "tests/test_c.py": "from tests.helpers.h import fx, plain\n",
    })
    _, imports = collect_imports(tmp_path)
    assert shared_test_code(imports, tmp_path) == [
        "tests/test_a.py:1: tests.test_a -> tests.test_b  (a test module imports no other: move what they "
        "share to tests/helpers/)",
        "tests/test_a.py:2: tests.test_a -> tests.conftest  (a test module imports no other: move what they "
        "share to tests/helpers/)",
        "tests/test_c.py:1: tests.test_c imports the fixture fx from tests.helpers.h  (define it in "
        "tests/conftest.py: pytest passes it by name)",
        "tests/helpers/h.py: defines the fixture fx  (define it in tests/conftest.py)"]


def test_the_checks_see_what_they_should(tmp_path):
    """The checker itself, on a tiny tree: an upward import, a cycle, a lazy import, an allowed one."""
    write_tree(tmp_path, {
        "utils/__init__.py": "",
        "utils/a.py": "from models import m\n",
        "models/__init__.py": "",
        "models/m.py": "import utils.a\n\ndef f():\n    import numpy\n    import matplotlib.pyplot\n",
        "models/n.py": "from models.m import f, g\nfrom models import gone\nimport utils.b\n",
    })
    modules, imports = collect_imports(tmp_path)
    assert modules == {"utils", "utils.a", "models", "models.m", "models.n"}
    assert upward(imports, modules) == ["utils/a.py:1: utils.a -> models.m  (utils may import only utils)"]
    assert cycles(imports, modules) == [["models.m", "utils.a"]]
    assert lazy(imports) == ["models/m.py:4: models.m -> numpy"]
    assert dangling(imports, tmp_path) == [
        "models/n.py:1: models.n imports g from models.m, which neither defines it nor has such a submodule",
        "models/n.py:2: models.n imports gone from models, which neither defines it nor has such a submodule",
        "models/n.py:3: models.n imports utils.b: no such module"]


def test_fast_path_is_read_in_one_place_or_listed_there():
    """Every module outside layers/fast that reads --fast_path (an attribute ``.fast_path`` or
    the name in quotes) is listed in layers.fast.options.FAST_PATH_ELSEWHERE, and every listed
    module still reads it (the parser and the typed configuration declare it; benches compare
    the paths on purpose)."""
    reads = re.compile(r"\.fast_path\b|[\"']fast_path[\"']")
    declared = {"run_main.py", "exp/config.py"}
    readers = {rel.as_posix() for rel in project_files()
               if rel.parts[0] not in ("bench",) and rel.parts[:2] != ("layers", "fast")
               and rel.as_posix() not in declared and reads.search((ROOT / rel).read_text())}
    assert readers == set(FAST_PATH_ELSEWHERE)


def test_fast_twins_carry_their_plain_twins_names():
    """A fast-path class that stands in for a plain one (subclasses it) is named ``Fast<Plain>``
    and lives in the module of the same name under layers/fast (``layers.reprogramming.X`` ->
    ``layers.fast.reprogramming.FastX``); a fast function twin has the plain one's name and module."""
    import importlib
    import inspect

    import layers.fast.options as options

    twins = []
    for rel in project_files():
        if rel.parts[:2] != ("layers", "fast") or rel.name == "__init__.py":
            continue
        module = importlib.import_module(module_name(rel))
        for cls in vars(module).values():
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            for base in cls.__bases__:
                if base.__module__.startswith("layers.") and not base.__module__.startswith("layers.fast"):
                    twins.append((f"{base.__module__}.{base.__name__}", f"{cls.__module__}.{cls.__name__}"))
    assert len(twins) >= 4
    for plain, fast in twins:
        plain_module, plain_name = plain.rsplit(".", 1)
        assert fast == f"layers.fast.{plain_module.split('.', 1)[1]}.Fast{plain_name}", (plain, fast)
    assert options.fast_head_input.__name__ == options.plain_head_input.__name__
    assert options.fast_head_input.__module__ == "layers.fast.reprogramming"
    assert options.plain_head_input.__module__ == "layers.reprogramming"
