"""What the command line shows, collected as plain data (rendering is _render's job).

A *view* is a dict: ``title``, ``notes`` (lines shown above the table),
``problems`` (configuration problems), ``rows`` (one dict per module: name,
state, priority, load_time, triggered_by, version, error) and, for a live
process, ``progress`` (status()["progress"]).  ``--json`` prints the data the
view was made from, not the view.
"""
from __future__ import annotations

import os

from ._probe import Versions, find

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

    from ._config import Settings

EVERYTHING = "*"


def configuration(settings: Settings, active: bool) -> dict[str, Any]:
    """Return the environment's configuration, each name located (never imported)."""
    versions = Versions()
    packages: dict[str, dict[str, Any]] = {}
    for name, priority in settings.names.items():
        if name == EVERYTHING:
            packages[name] = {"state": "everything", "installed": None, "priority": priority,
                              "origin": None, "distribution": None, "version": None}
            continue
        found = find(name)
        dist, version = versions.lookup(name, found.origin) if found.installed else (None, None)
        packages[name] = {
            "state": "installed" if found.installed else "missing",
            "installed": found.installed,
            "priority": priority,
            "origin": found.origin,
            "distribution": dist,
            "version": version,
        }
    return {
        "active": active,
        "file": settings.file,
        "exclude": list(settings.exclude),
        "publish": settings.publish,
        "problems": list(settings.problems),
        "packages": packages,
    }


def configuration_view(data: dict[str, Any]) -> dict[str, Any]:
    notes = []
    source = "LAZYIMPORT" + (f" and {data['file']}" if data["file"] else "")
    notes.append(f"configuration: {source}" + ("" if data["active"] else " (inactive: set LAZYIMPORT=1 to use it)"))
    if data["exclude"]:
        notes.append(f"excluded: {', '.join(data['exclude'])}")
    rows = []
    for name, info in data["packages"].items():
        state = "every non-stdlib module" if info["state"] == "everything" else info["state"]
        rows.append(_row(name, state, info["priority"], version=_version_text(name, info)))
    missing = sum(1 for info in data["packages"].values() if info["state"] == "missing")
    if missing:
        notes.append(f"{missing} configured name(s) not installed: an import of them fails as usual")
    return {"title": "lazyimport: configured modules", "notes": notes,
            "problems": data["problems"], "rows": rows, "progress": None}


def snapshot_view(snapshot: dict[str, Any], *, modules: bool = False, title: str | None = None,
                  notes: list[str] | None = None, versions: Versions | None = None,
                  now: float | None = None) -> dict[str, Any]:
    """Return the view of a status() snapshot (this process's, or a published one).

    *now* (Unix time) ages the snapshot: a body still running shows how long
    it has been running by then, not by the time the snapshot was written.
    """
    versions = versions or Versions()
    clock = _clock(snapshot, now)
    records = snapshot.get("modules" if modules else "packages") or {}
    rows = []
    for name, rec in records.items():
        installed = rec.get("status") not in ("missing", "registered")
        dist, version = versions.lookup(name, rec.get("origin")) if installed and rec.get("origin") else (None, None)
        rows.append(_row(
            name, rec.get("status") or "?", rec.get("priority"), rec.get("load_time"),
            _trigger_text(rec, clock), _version_text(name, {"distribution": dist, "version": version}),
            rec.get("error"),
        ))
    head = list(notes or [])
    python = snapshot.get("python") or {}
    if snapshot.get("pid") is not None:
        head.append(
            f"pid {snapshot['pid']}, Python {python.get('version', '?')}, lazyimport {snapshot.get('version', '?')}"
            + ("" if snapshot.get("enabled", True) else ", lazy imports off")
        )
    return {"title": title or "lazyimport: status", "notes": head, "problems": [], "rows": rows,
            "progress": snapshot.get("progress")}


def _row(name: str, state: str, priority: Any, load_time: Any = None, triggered_by: Any = None,
         version: Any = None, error: Any = None) -> dict[str, Any]:
    return {"name": name, "state": state, "priority": priority, "load_time": load_time,
            "triggered_by": triggered_by, "version": version, "error": error}


def _version_text(name: str, info: dict[str, Any]) -> str | None:
    """``2.13.0``, or ``11.0.0 (Pillow)`` when the distribution is named otherwise."""
    version = info.get("version")
    if version is None:
        return None
    dist = info.get("distribution")
    if not dist or _normal(dist) == _normal(name.partition(".")[0]):
        return str(version)
    return f"{version} ({dist})"


def _normal(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _clock(snapshot: dict[str, Any], now: float | None) -> float | None:
    """The snapshot's `elapsed`, moved on to *now*."""
    elapsed = snapshot.get("elapsed")
    if elapsed is None:
        return None
    generated = snapshot.get("generated_at")
    if now is None or generated is None:
        return float(elapsed)
    return float(elapsed) + max(now - float(generated), 0.0)


def _trigger_text(rec: dict[str, Any], clock: float | None = None) -> str | None:
    if rec.get("status") == "loading" and clock is not None and rec.get("started_at") is not None:
        return f"running for {clock - rec['started_at']:.1f} s ({rec.get('triggered_by')})"
    if rec.get("status") == "eager":
        return rec.get("reason")
    if rec.get("status") == "deferred":
        site = rec.get("imported_at")
        return f"not used yet (imported at {site})" if site else "not used yet"
    return rec.get("triggered_by")


def plain(view: dict[str, Any]) -> str:
    """The view as plain text lines (when rich is not installed)."""
    lines = [*view.get("notes", ()), view.get("title") or ""]
    for row in view["rows"]:
        cells = [row["name"], row["state"], "-" if row["priority"] is None else str(row["priority"]),
                 "-" if row["load_time"] is None else f"{row['load_time']:.4f}s",
                 row["triggered_by"] or "-", row["version"] or "-"]
        lines.append("  ".join(cells) + (f"  error: {row['error']}" if row["error"] else ""))
    lines.extend(f"problem: {p}" for p in view.get("problems", ()))
    return "\n".join(lines) + "\n"


def exit_code_for(rows: list[dict[str, Any]]) -> int:
    """0 when everything is fine; 1 when a module is missing or failed."""
    return 1 if any(row["state"] in ("missing", "failed") for row in rows) else 0


def short_path(text: str, cwd: str | None = None) -> str:
    """Shorten the file paths inside *text* (cwd-relative, or from site-packages on)."""
    cwd = (cwd or os.getcwd()).rstrip(os.sep) + os.sep
    out = []
    for word in text.split(" "):
        if word.startswith(cwd):
            word = word[len(cwd):]
        else:
            for marker in ("site-packages" + os.sep, "dist-packages" + os.sep):
                cut = word.find(marker)
                if cut >= 0:
                    word = word[cut + len(marker):]
                    break
        out.append(word)
    return " ".join(out)
