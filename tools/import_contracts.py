"""An import-linter contract type: no import cycles between any of the project's modules (DESIGN.md).

import-linter's own `acyclic_siblings` looks for cycles among the children of one package; Gatehouse's
apps are separate top-level packages whose modules import across apps (directory.services ->
security.services), so a cycle can run through two apps. This contract finds every strongly connected
group of modules in the graph, tests and migrations aside, and names each cycle's imports.
"""

from __future__ import annotations

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _cycles(graph: ImportGraph, modules: list[str]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module, iteratively (no recursion limit)."""
    inside = set(modules)
    edges = {module: sorted(i for i in graph.find_modules_directly_imported_by(module) if i in inside)
             for module in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            module, position = work.pop()
            if position == 0:
                index[module] = low[module] = counter
                counter += 1
                stack.append(module)
                on_stack.add(module)
            targets = edges[module]
            if position < len(targets):
                work.append((module, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
    return found


class AcyclicModulesContract(Contract):
    """No module of `packages` (their tests and migrations aside) imports, even indirectly, a module that
    imports it back."""

    packages = fields.ListField(subfield=fields.StringField())
    skip = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        skip = tuple(self.skip or ())
        modules = [module for module in graph.modules
                   if module.split(".")[0] in self.packages and not any(part in module.split(".") for part in skip)]
        cycles = _cycles(graph, modules)
        details = []
        for cycle in cycles:
            members = set(cycle)
            details.append([f"{importer} -> {imported}" for importer in cycle
                            for imported in sorted(graph.find_modules_directly_imported_by(importer))
                            if imported in members])
        return ContractCheck(kept=not cycles, metadata={"cycles": details})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for imports in check.metadata["cycles"]:
            output.print_error("A cycle:", bold=True)
            output.new_line()
            for line in imports:
                output.indent_cursor()
                output.print_error(line, bold=False)
            output.new_line()
