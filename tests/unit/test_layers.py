"""The package's rooms stand on each other in one order: no import runs upward, none between two rooms of
one layer, and the import graph of gateway/ has no cycle.

A unit is a top-level folder of gateway/ (all its modules count as one) or a module at its root. Every
import counts, also one inside a function or under ``TYPE_CHECKING``: a lazy import is still a
dependency. A new unit fails the test until it is given its layer here, with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gateway

PACKAGE = Path(gateway.__file__).parent

# lowest first; a unit may import units of lower layers only (and never a sibling of its own layer)
LAYERS: list[tuple[set[str], str]] = [
    ({"__init__", "config", "replies"},
     "settings and the reply vocabulary: every room names them, they name nothing of ours"),
    ({"locale"}, "the languages people read: the current one, translation, dates and numbers (Babel); the mail "
                 "services and the web pages speak through it, it names nothing of ours"),
    ({"mail"}, "bytes -> ParsedMessage, and the address helpers every other room uses: pure"),
    ({"crm"}, "the CRM's own rules (kinds, who may receive, lead conversion): pure, over plain data"),
    ({"routing", "auth"},
     "pure decisions over parsed mail: which company/record an address names and what a message links "
     "to; who may send and the SPF/DKIM/DMARC verdicts. Neither needs the other"),
    ({"store", "imap"}, "the two stores the gateway reads and writes: the database, which carries out the "
                        "decisions above in one transaction per message; a connected IMAP mailbox (the client)"),
    ({"services"}, "admin operations over the store (and the smarthost), for the CLI and the web app"),
    ({"handlers"}, "the SMTP edge: translates the dialogue into the decisions, the store and a service "
                   "(an alternate address confirmed by mail)"),
    ({"sync"}, "connected mailboxes: IMAP mail filed through the SMTP edge's own parser and filer, and "
               "when to sync"),
    ({"ops"}, "the running process seen from outside: metrics of the SMTP edge, probes of the store"),
    ({"web"}, "the web application: over services, beside the SMTP edge (it must not reach into handlers; "
              "see WEB_NEVER)"),
    ({"server"}, "the process: wires handlers, ops and the store together, start/stop/run"),
    ({"supervisor"}, "`serve --workers N`: listens once and runs N server processes, passing signals on"),
    ({"commands"}, "one module per noun of the admin CLI; `serve` starts the server"),
    ({"cli", "__main__"}, "the `smartbcc` group and main(): assembles the commands"),
]
WEB_NEVER = {"handlers", "server"}


def _unit(path: Path) -> str:
    first = path.relative_to(PACKAGE).parts[0]
    return first.removesuffix(".py")


def _targets(node: ast.AST, path: Path) -> list[str]:
    """The gateway units an import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:      # relative: resolve against the importing module's package
            base = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[:-node.level]
            names = [".".join(base + ([node.module] if node.module else []))]
        else:
            names = [node.module or ""]
        if names[0] == "gateway":     # from gateway import x: x is the unit
            names = [f"gateway.{alias.name}" for alias in node.names]
    else:
        return []
    return [name.split(".")[1] for name in names if name.startswith("gateway.")]


def import_graph() -> dict[str, dict[str, list[str]]]:
    """unit -> imported unit -> the places (file:line) that import it."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path)
        graph.setdefault(unit, {})
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(node, path):
                if target != unit:
                    where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                    graph[unit].setdefault(target, []).append(where)
    return graph


def layer_of() -> dict[str, int]:
    return {unit: level for level, (units, _) in enumerate(LAYERS) for unit in units}


def test_every_unit_has_a_layer():
    layers = layer_of()
    unknown = sorted(set(import_graph()) - set(layers))
    assert unknown == [], f"give these units of gateway/ a layer (and its reason) in LAYERS: {unknown}"


def test_no_import_runs_upward_or_sideways():
    layers = layer_of()
    wrong = []
    for unit, targets in import_graph().items():
        for target, places in targets.items():
            if target in layers and unit in layers and layers[target] >= layers[unit]:
                way = "sideways" if layers[target] == layers[unit] else "upward"
                wrong.append(f"{unit} -> {target} ({way}): {', '.join(places)}")
    assert wrong == [], "imports against the layer order:\n" + "\n".join(wrong)


def test_the_web_app_stays_off_the_smtp_edge():
    reach = {target: places for target, places in import_graph().get("web", {}).items() if target in WEB_NEVER}
    assert reach == {}, f"gateway/web imports {sorted(reach)}: go through gateway.services instead"


def test_no_cycle():
    graph = {unit: set(targets) for unit, targets in import_graph().items()}
    state: dict[str, int] = {}     # 1: on the current path, 2: done
    path: list[str] = []

    def visit(unit: str) -> list[str] | None:
        state[unit] = 1
        path.append(unit)
        for target in sorted(graph.get(unit, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[unit] = 2
        return None

    for unit in sorted(graph):
        if unit not in state and (cycle := visit(unit)):
            raise AssertionError("import cycle: " + " -> ".join(cycle))


def test_the_checks_see_what_they_check():
    """The graph is not empty and names the edges the layout is built on (a parser that found nothing
    would pass every check above)."""
    graph = import_graph()
    assert "store" in graph["handlers"] and "mail" in graph["routing"] and "commands" in graph["cli"]
    assert layer_of()["handlers"] > layer_of()["store"] > layer_of()["auth"]
