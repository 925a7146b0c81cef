"""The layer map of polyarb, declared once, and the test that every import obeys it.

Every ``import`` in every module is read with ``ast``: module-level ones, those inside
functions (lazy imports) and those under ``TYPE_CHECKING``. The test asserts

* every module of the package has a place in :data:`LAYERS`;
* a module imports only modules of its own layer or lower ones, and only the
  third-party libraries its layer allows (the core never touches websockets,
  HTTP, DuckDB or web3);
* no import cycle between modules, and none between packages (``polyarb.feed`` →
  ``polyarb.recording`` → ``polyarb.feed`` counts even when no two modules form one);
* nothing outside ``polyarb.testing`` imports ``polyarb.testing``.

Importing ``polyarb.a.b`` also runs the ``__init__`` of ``polyarb.a``; that implicit edge is not
counted, so a package ``__init__`` may re-export from its submodules.

This replaces two hand-kept lists of forbidden imports (one in the engine tests, one in
the execution tests). When it was written it found cycles
alerts.rules ↔ config.profile, feed.client ↔ feed.connection, recording
reader → compact → writer → reader, packages feed ↔ recording, alerts ↔ ops, chain ↔ ops,
and recording and dashboard importing the CLI.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "polyarb"

PURE_LIBS = frozenset({"msgspec", "pydantic", "yaml"})
ANY_LIB = None
NO_IO_STDLIB = frozenset({"asyncio", "http", "socket", "ssl", "subprocess", "urllib"})

LAYERS: list[tuple[str, tuple[str, ...], frozenset[str] | None]] = [
    # (layer, modules or packages in it, third-party libraries allowed; None = any)
    # -- core: pure functions of their inputs; no network, store, database or CLI
    (
        "base",
        (
            "polyarb._version",
            "polyarb.errors",
            "polyarb.units",
            "polyarb.events",
            "polyarb.clock",
            "polyarb.frames",
            "polyarb.names",
            "polyarb.configfile",
        ),
        PURE_LIBS,
    ),
    # the parser's compiled level scanner, imported lazily (numba brings numpy and LLVM)
    ("protocol-jit", ("polyarb.protocol.levels_jit",), frozenset({"numpy", "numba"})),
    ("protocol", ("polyarb.protocol",), PURE_LIBS),
    ("config", ("polyarb.alerts", "polyarb.alerts.rules", "polyarb.config"), PURE_LIBS),
    # execution, ledger and risk are handed a view of the books; they never import them
    (
        "trading",
        (
            "polyarb.execution",
            "polyarb.execution.calibration",  # SimVenue's prediction of a live order
            "polyarb.ledger",
            "polyarb.risk",
        ),
        PURE_LIBS,
    ),
    ("market", ("polyarb.book", "polyarb.detect"), PURE_LIBS),
    (
        "engine",
        (
            "polyarb.runs",
            "polyarb.engine.engine",
            "polyarb.engine.books",
            "polyarb.engine.sink",
            "polyarb.engine.shared",  # the book pass replay_many feeds several engines from
        ),
        PURE_LIBS | {"pyarrow"},  # the run tables' schemas
    ),
    # -- adapters: the outside world (sockets, files, HTTP, DuckDB, web3, secrets)
    (
        "adapters",
        (
            "polyarb.env",
            "polyarb.feed",
            "polyarb.discovery",
            "polyarb.recording",
            "polyarb.server",
            "polyarb.chain",
            "polyarb.alerts.notify",
            "polyarb.engine.run_writer",
            "polyarb.analytics",
            "polyarb.analytics.calibrate",  # fits latency and fills to live sessions
            "polyarb.venues",
            "polyarb.sweep.schema",  # the results table contract the sql views read
        ),
        ANY_LIB,
    ),
    # -- app: core and adapters wired together; commands
    (
        "app",
        (
            "polyarb",
            "polyarb.__main__",
            "polyarb.api",
            "polyarb.engine",
            "polyarb.engine.replay",
            "polyarb.shadow",
            "polyarb.live",
            "polyarb.ops",
            "polyarb.dashboard",
            "polyarb.cli",
        ),
        ANY_LIB,
    ),
    # -- test-data generators: imported by tests and benchmarks only
    ("testing", ("polyarb.testing",), ANY_LIB),
]
CORE_LAYERS = ("base", "protocol-jit", "protocol", "config", "trading", "market", "engine")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _layer_of(module: str) -> int | None:
    """Index in LAYERS of the most specific entry naming ``module`` or a package above it."""
    best, best_len = None, -1
    for i, (_, names, _) in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best_len:
                best, best_len = i, len(name)
    return best


def _target(name: str) -> str:
    """The module an import of ``name`` lands on (``polyarb.x.y`` → the longest existing)."""
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str, path: Path) -> Iterable[tuple[int, str]]:
    """(line, imported name) for every import in the file, at any depth."""
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module if is_pkg else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                full = f"{source}.{alias.name}"
                yield node.lineno, full if full in MODULES else source


def _graph() -> tuple[dict[str, set[str]], dict[str, list[tuple[int, str]]]]:
    """Internal edges per module, and every external import per module."""
    internal: dict[str, set[str]] = {}
    external: dict[str, list[tuple[int, str]]] = {}
    for module, path in MODULES.items():
        internal[module] = set()
        external[module] = []
        for line, name in _imports(module, path):
            if name == "polyarb" or name.startswith("polyarb."):
                target = _target(name)
                if target != module:
                    internal[module].add(target)
            elif name != "__future__":
                external[module].append((line, name))
    return internal, external


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative order)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_every_module_has_a_layer() -> None:
    missing = [m for m in MODULES if _layer_of(m) is None]
    assert not missing, f"add these to LAYERS: {missing}"


def test_imports_respect_the_layers() -> None:
    internal, external = _graph()
    bad = []
    for module, targets in sorted(internal.items()):
        mine = _layer_of(module)
        assert mine is not None
        for target in sorted(targets):
            theirs = _layer_of(target)
            assert theirs is not None, target
            if theirs > mine:
                bad.append(f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]})")
    for module, names in sorted(external.items()):
        mine = _layer_of(module)
        assert mine is not None
        layer, _, allowed = LAYERS[mine]
        for line, name in names:
            top = name.split(".")[0]
            if top in sys.stdlib_module_names:
                if layer in CORE_LAYERS and top in NO_IO_STDLIB:
                    bad.append(f"{module}:{line} ({layer}) imports {name}: I/O in the core")
            elif allowed is not None and top not in allowed:
                bad.append(f"{module}:{line} ({layer}) imports third-party {name}")
    assert not bad, "\n".join(bad)


def test_no_import_cycles_between_modules() -> None:
    internal, _ = _graph()
    assert _cycles(internal) == []


def test_no_import_cycles_between_packages() -> None:
    internal, _ = _graph()
    packages: dict[str, set[str]] = {}
    for module, targets in internal.items():
        mine = _package(module)
        packages.setdefault(mine, set()).update(_package(t) for t in targets if _package(t) != mine)
    assert _cycles(packages) == []


def test_testing_is_imported_by_tests_only() -> None:
    internal, _ = _graph()
    users = sorted(
        m
        for m, targets in internal.items()
        if not m.startswith("polyarb.testing")
        and any(t == "polyarb.testing" or t.startswith("polyarb.testing.") for t in targets)
    )
    assert users == []


def test_the_checks_can_fail() -> None:
    """A made-up cycle and an upward import are caught."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    core = _layer_of("polyarb.detect.binary")
    assert core is not None and _layer_of("polyarb.feed.client") > core  # type: ignore[operator]
    assert _layer_of("polyarb.alerts.notify") != _layer_of("polyarb.alerts.rules")
