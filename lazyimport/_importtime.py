"""Which packages make start-up slow: ``python -X importtime`` output, as plain data.

CPython writes one line per module to stderr when the module finishes
importing, children before their parent, indented two spaces per level::

    import time: self [us] | cumulative | imported package
    import time:       418 |        418 |     rich._wrap
    import time:      5108 |       7461 |   rich.text
    import time:      2215 |      56735 | rich.table

``parse`` rebuilds the tree; ``analyse`` charges each non-stdlib top-level
package the cumulative time of the places where it was first imported, and
picks those above a threshold as what to defer.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator

PREFIX = "import time:"
# Never suggested: ourselves, and what site imports only for its side effects.
NEVER = frozenset({"lazyimport", "__main__", "sitecustomize", "usercustomize", "_distutils_hack"})


class Node:
    """One imported module: its own time, with its imports, and those imports."""

    __slots__ = ("name", "self_us", "cumulative_us", "children")

    def __init__(self, name: str, self_us: int, cumulative_us: int) -> None:
        self.name = name
        self.self_us = self_us
        self.cumulative_us = cumulative_us
        self.children: list[Node] = []

    def __repr__(self) -> str:
        return f"<Node {self.name} {self.cumulative_us}us {len(self.children)} children>"


def parse_line(line: str) -> tuple[int, Node] | None:
    """Return (level, node) for one importtime line; None for anything else."""
    if not line.startswith(PREFIX):
        return None
    fields = line[len(PREFIX):].split("|")
    if len(fields) != 3:
        return None
    try:
        self_us, cumulative_us = int(fields[0]), int(fields[1])
    except ValueError:
        return None  # the header line
    text = fields[2].rstrip("\r\n")
    name = text.strip()
    if not name:
        return None
    level = (len(text) - len(text.lstrip(" ")) - 1) // 2
    return max(level, 0), Node(name, self_us, cumulative_us)


def parse(lines: Iterable[str]) -> list[Node]:
    """Rebuild the import tree; return its roots in import order."""
    pending: dict[int, list[Node]] = {}  # level -> finished nodes awaiting their parent
    order: list[tuple[int, Node]] = []
    for line in lines:
        parsed = parse_line(line)
        if parsed is None:
            continue
        level, node = parsed
        # The nodes one level deeper finished since the last node of this level
        # are its children; anything deeper still is orphaned (stays a root).
        node.children = pending.pop(level + 1, [])
        for deeper in [k for k in pending if k > level]:
            del pending[deeper]
        pending.setdefault(level, []).append(node)
        order.append((level, node))
    # What never got a parent (interpreter start-up imports some modules before
    # the first top-level one, or the output was cut short) is a root too.
    claimed = {id(child) for _, node in order for child in node.children}
    return [node for _, node in order if id(node) not in claimed]


def _walk(nodes: list[Node]) -> Iterator[Node]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def _top(name: str) -> str:
    return name.partition(".")[0]


def analyse(roots: list[Node], stdlib: frozenset[str], *, threshold_ms: float = 5.0,
            top: int = 10, children: int = 3, exclude: Iterable[str] = (),
            installed: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """Charge time to non-stdlib top-level packages; return the report as plain data.

    *installed* tells a package from a name that was only tried (importtime
    lists failed imports too: ``try: import org.python...``).
    """
    never = set(NEVER) | set(exclude)
    if installed is not None:
        tops = {_top(node.name) for node in _walk(roots)} - stdlib - never
        never |= {name for name in tops if not installed(name)}
    total = sum(root.cumulative_us for root in roots)
    count = 0
    found: dict[str, dict[str, Any]] = {}
    entries: dict[str, list[Node]] = {}

    def visit(node: Node, owner: str | None, inside: frozenset[str]) -> None:
        nonlocal count
        count += 1
        name = _top(node.name)
        if name not in stdlib and name not in never and name not in inside:
            # The first import of *name* below its importer: charge it here
            # (not again when one of its own imports comes back to it).
            info = found.setdefault(name, {
                "name": name, "cumulative_us": 0, "imported_by": owner, "children": [],
            })
            info["cumulative_us"] += node.cumulative_us
            entries.setdefault(name, []).append(node)
            owner, inside = name, inside | {name}
        for child in node.children:
            visit(child, owner, inside)

    for root in roots:
        visit(root, None, frozenset())
    threshold_us = threshold_ms * 1000.0
    packages = sorted(found.values(), key=lambda p: -p["cumulative_us"])
    for info in packages:
        info["percent"] = round(100.0 * info["cumulative_us"] / total, 1) if total else 0.0
        kids = [c for node in entries[info["name"]] for c in node.children]
        kids.sort(key=lambda c: -c.cumulative_us)
        info["children"] = [
            {"name": c.name, "cumulative_us": c.cumulative_us,
             "percent": round(100.0 * c.cumulative_us / total, 1) if total else 0.0}
            for c in kids[:children]
        ]
    # Suggest what is shown: the heaviest *top* packages above the threshold.
    heavy = [p for p in packages[:top] if p["cumulative_us"] >= threshold_us]
    names = [p["name"] for p in heavy]
    chosen = set(names)
    # A package imported by another suggested one is deferred with it: count it once.
    saving = sum(p["cumulative_us"] for p in heavy if not _under(p, chosen, found))
    return {
        "total_us": total,
        "modules": count,
        "threshold_ms": threshold_ms,
        "packages": packages[:top],
        "more_packages": max(len(packages) - top, 0),
        "suggest": {
            "names": names,
            "saving_us": saving,
            "env": f"LAZYIMPORT={','.join(names)}" if names else None,
            "pyproject": pyproject_snippet(names) if names else None,
        },
    }


def _under(info: dict[str, Any], chosen: set[str], found: dict[str, dict[str, Any]]) -> bool:
    owner = info["imported_by"]
    seen = set()
    while owner is not None and owner not in seen:
        if owner in chosen:
            return True
        seen.add(owner)
        owner = found[owner]["imported_by"] if owner in found else None
    return False


def pyproject_snippet(names: list[str]) -> str:
    quoted = [f'"{name}"' for name in names]
    if len(quoted) <= 3:
        return f"[tool.lazyimport]\nnames = [{', '.join(quoted)}]\n"
    return "[tool.lazyimport]\nnames = [\n" + "".join(f"    {q},\n" for q in quoted) + "]\n"
