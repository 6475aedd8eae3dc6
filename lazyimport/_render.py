"""Rendering the command line's views with rich (the data comes from _views / _importtime).

Every function takes plain data and returns a rich renderable, or prints to
the console it is given; nothing here looks at lazyimport's state.
"""
from __future__ import annotations

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ._views import short_path

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

    from rich.console import Console, RenderableType

STYLES = {
    "loaded": "green", "installed": "green", "eager": "dim", "deferred": "cyan",
    "registered": "dim", "loading": "yellow bold", "failed": "red bold", "missing": "red",
}


def duration(seconds: float | None) -> str:
    """``1.23 s``, ``45.6 ms``, ``780 µs``; ``-`` for None."""
    if seconds is None:
        return "-"
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def status_table(rows: list[dict[str, Any]], title: str | None = None) -> Table:
    """The table: name, state, priority, load time, triggered by, version."""
    # Nothing has run (the configuration alone): no load time or trigger columns.
    ran = any(row.get("load_time") is not None or row.get("triggered_by") for row in rows)
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("name", style="bold", overflow="fold")
    table.add_column("state", no_wrap=True)
    table.add_column("priority", justify="right", no_wrap=True)
    if ran:
        table.add_column("load time", justify="right", no_wrap=True)
        table.add_column("triggered by", overflow="fold", ratio=1)
    table.add_column("version", no_wrap=True)
    for row in rows:
        state = row["state"]
        cells: list[RenderableType] = [
            row["name"], Text(state, style=STYLES.get(state, "")),
            "-" if row.get("priority") is None else str(row["priority"]),
        ]
        if ran:
            trigger = row.get("triggered_by")
            text = Text(short_path(trigger) if trigger else "-")
            if row.get("error"):
                text.append(f"\n{row['error']}", style="red")
            cells += [duration(row.get("load_time")), text]
        elif row.get("error"):
            cells[1] = Text.assemble(cells[1], (f" {row['error']}", "red"))  # type: ignore[arg-type]
        table.add_row(*cells, row.get("version") or "-")
    return table


def progress_line(progress: dict[str, Any] | None, width: int = 30) -> RenderableType | None:
    """A bar and ``3/5 packages loaded (60%) · 1 failed · loading``."""
    if not progress:
        return None
    total, done = progress.get("total_packages", 0), progress.get("loaded_packages", 0)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=width)
    grid.add_column()
    words = f"{done}/{total} packages loaded ({progress.get('progress_percentage', 0):g}%)"
    if progress.get("failed_packages"):
        words += f" · {progress['failed_packages']} failed"
    if progress.get("is_loading"):
        words += " · loading"
    grid.add_row(ProgressBar(total=max(total, 1), completed=done if total else 1, width=width), words)
    return grid


def view(data: dict[str, Any]) -> RenderableType:
    """The whole view: notes, progress, table, problems."""
    parts: list[RenderableType] = [Text(note, style="dim") for note in data.get("notes", ())]
    bar = progress_line(data.get("progress"))
    if bar is not None:
        parts.append(bar)
    if data["rows"]:
        parts.append(status_table(data["rows"], data.get("title")))
    else:
        parts.append(Text("no modules to show", style="dim"))
    parts.extend(Text(f"problem: {p}", style="red") for p in data.get("problems", ()))
    return Group(*parts)


def print_view(console: Console, data: dict[str, Any]) -> None:
    console.print(view(data))


def profile_tree(report: dict[str, Any]) -> Tree:
    """Packages by start-up cost, each with its heaviest imports."""
    total = report["total_us"]
    tree = Tree(Text.assemble(
        ("start-up imports: ", "bold"), f"{_ms(total)} in {report['modules']} modules",
    ))
    for package in report["packages"]:
        heavy = package["cumulative_us"] >= report["threshold_ms"] * 1000
        label = Text.assemble(
            (package["name"], "bold" if heavy else ""), "  ",
            (f"{_ms(package['cumulative_us'])}", "yellow" if heavy else "dim"),
            f"  {package['percent']:g}%",
        )
        if package.get("imported_by"):
            label.append(f"  (imported by {package['imported_by']})", style="dim")
        branch = tree.add(label)
        for child in package["children"]:
            branch.add(Text(f"{child['name']}  {_ms(child['cumulative_us'])}  {child['percent']:g}%", style="dim"))
    if report.get("more_packages"):
        tree.add(Text(f"... and {report['more_packages']} more packages", style="dim"))
    return tree


def suggestion(report: dict[str, Any]) -> list[Text]:
    """The configuration that would defer the heavy packages (or why there is none), as lines."""
    suggest = report["suggest"]
    if not suggest["names"]:
        return [Text(f"no non-stdlib package costs {report['threshold_ms']:g} ms or more at start-up: "
                     "nothing to defer (lower it with --threshold)")]
    return [
        Text.assemble(
            ("to defer them ", "bold"),
            f"(up to {_ms(suggest['saving_us'])} off start-up, paid at first use instead):",
        ),
        Text(f"  {suggest['env']}", style="green"),
        Text("or, in pyproject.toml (with LAZYIMPORT=1):", style="bold"),
        *(Text(f"  {line}", style="green") for line in suggest["pyproject"].splitlines()),
    ]


def print_profile(console: Console, report: dict[str, Any]) -> None:
    console.print(profile_tree(report))
    for line in suggestion(report):
        console.print(line, soft_wrap=True)  # never cut a line meant to be copied


def _ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"
