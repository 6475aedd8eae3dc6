"""Settings from environment variables and ``[tool.lazyimport]`` in pyproject.toml.

Every setting is validated on its own: a malformed one is reported (which
variable or key, what was expected) and ignored; the others still apply.
The environment overrides the file.
"""
from __future__ import annotations

import os

from ._registry import PRESETS

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Mapping

# (environment variable, pyproject key, kind)
SETTINGS = (
    ("LAZYIMPORT", "names", "names"),
    ("LAZYIMPORT_EXCLUDE", "exclude", "list"),
    ("LAZYIMPORT_PREFETCH", "prefetch", "bool"),
    ("LAZYIMPORT_DEBUG", "debug", "bool"),
    ("LAZYIMPORT_EAGER", "eager", "bool"),
    ("LAZYIMPORT_PUBLISH", "publish", "bool"),
    ("LAZYIMPORT_REPORT", "report", "path"),
    ("LAZYIMPORT_CHILDREN", "children", "bool"),
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingError(ValueError):
    """One setting is malformed."""


class Settings:
    """Resolved settings; ``problems`` lists what was ignored and why."""

    def __init__(self) -> None:
        self.enabled = False
        self.names: dict[str, int] = {}
        self.exclude: list[str] = []
        self.prefetch: bool | None = None
        self.debug = False
        self.eager = False
        self.publish = False
        self.report: str | None = None
        self.children = True
        self.problems: list[str] = []
        self.file: str | None = None


def parse_names(value: str, where: str) -> tuple[bool, dict[str, int] | None]:
    """Parse LAZYIMPORT: (enabled?, names or None for "names from the file").

    Grammar: ``0``/``off``/empty = off; ``1``/``on`` = on, names from the file;
    otherwise items separated by commas or spaces, each ``name``,
    ``name:priority``, ``*`` (every non-stdlib module) or a preset (``seed``).
    """
    text = value.strip()
    lowered = text.lower()
    if lowered in _FALSE:
        return False, None
    if lowered in _TRUE:
        return True, None
    names: dict[str, int] = {}
    for item in text.replace(",", " ").split():
        name, sep, priority_text = item.partition(":")
        name = name.strip()
        if name in PRESETS and not sep:
            names.update(PRESETS[name])
            continue
        if name != "*" and not all(part.isidentifier() for part in name.split(".")):
            presets = ", ".join(sorted(PRESETS))
            raise SettingError(
                f"{where}: {item!r} is not a module name (expected name[:priority], '*' or a preset: {presets})"
            )
        priority = 3
        if sep:
            try:
                priority = int(priority_text)
            except ValueError:
                raise SettingError(f"{where}: priority of {name!r} must be an integer, got {priority_text!r}") from None
        names[name] = priority
    if not names:
        raise SettingError(f"{where}: no module names in {value!r}")
    return True, names


def _names_from_file(value: Any, where: str) -> dict[str, int]:
    if isinstance(value, str):
        enabled, names = parse_names(value, where)
        return names or {}
    if isinstance(value, list):
        return parse_names(",".join(_strings(value, where)), where)[1] or {}
    if isinstance(value, dict):
        out = {}
        for name, priority in value.items():
            if type(priority) is not int:
                raise SettingError(f"{where}: priority of {name!r} must be an integer, got {priority!r}")
            out.update(parse_names(f"{name}:{priority}", where)[1] or {})
        return out
    raise SettingError(
        f"{where}: expected a list of names, a table of name = priority, or a string; got {type(value).__name__}"
    )


def _strings(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split() if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SettingError(f"{where}: expected a list of module names, got {value!r}")


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise SettingError(f"{where}: expected 1/0, true/false, yes/no or on/off, got {value!r}")


def find_pyproject(start: str) -> str | None:
    """Return the nearest pyproject.toml at or above *start*."""
    directory = os.path.abspath(start)
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def read_table(path: str) -> dict[str, Any]:
    """Return ``[tool.lazyimport]`` of *path* (empty if absent)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise SettingError(f"{path}: cannot be read: {exc}") from None
    if b"lazyimport" not in raw:
        # Most projects' pyproject.toml has no such table: importing and running
        # a TOML parser (~10 ms) would be start-up time spent on nothing.
        return {}
    try:
        import tomllib as toml  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # Python < 3.11
        try:
            import tomli as toml  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            raise SettingError(f"{path}: reading it needs Python 3.11+ or the 'tomli' package") from None
    try:
        data = toml.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SettingError(f"{path}: cannot be read as TOML: {exc}") from None
    table = data.get("tool", {}).get("lazyimport", {})
    if not isinstance(table, dict):
        raise SettingError(f"{path}: [tool.lazyimport] must be a table")
    return table


def resolve(environ: Mapping[str, str] | None = None, cwd: str | None = None) -> Settings:
    """Resolve the settings: environment first, then the configuration file."""
    env = os.environ if environ is None else environ
    s = Settings()
    enabled_by_env: bool | None = None
    env_names: dict[str, int] | None = None
    raw = env.get("LAZYIMPORT")
    if raw is not None:
        try:
            enabled_by_env, env_names = parse_names(raw, "LAZYIMPORT")
        except SettingError as exc:
            s.problems.append(str(exc))
    config_path = env.get("LAZYIMPORT_CONFIG")
    if enabled_by_env is False:
        return s  # switched off: read nothing else
    if enabled_by_env is None and not config_path:
        return s  # not asked for (or LAZYIMPORT malformed): stay eager
    table: dict[str, Any] = {}
    path = config_path or find_pyproject(cwd or os.getcwd())
    if path:
        try:
            table = read_table(path)
            s.file = path
        except SettingError as exc:
            s.problems.append(str(exc))
    unknown = sorted(set(table) - {key for _, key, _ in SETTINGS})
    if unknown:
        s.problems.append(f"{path}: unknown key(s) in [tool.lazyimport]: {', '.join(unknown)}")
    for var, key, kind in SETTINGS:
        if var == "LAZYIMPORT":
            continue
        source, where = (env[var], var) if var in env else (table.get(key), f"{path} [tool.lazyimport] {key}")
        if source is None:
            continue
        try:
            if kind == "list":
                s.exclude = _strings(source, where)
            elif kind == "bool":
                setattr(s, key, _bool(source, where))
            elif kind == "path":
                if not isinstance(source, str) or not source:
                    raise SettingError(f"{where}: expected a file path, got {source!r}")
                s.report = source
        except SettingError as exc:
            s.problems.append(str(exc))
    if env_names is not None:
        s.names = env_names
    elif "names" in table:
        try:
            s.names = _names_from_file(table["names"], f"{path} [tool.lazyimport] names")
        except SettingError as exc:
            s.problems.append(str(exc))
    s.enabled = bool(s.names)
    if not s.names and not any("names" in p for p in s.problems):
        s.problems.append(
            "LAZYIMPORT is on but no module names are configured "
            "(set LAZYIMPORT=name,... or names = [...] under [tool.lazyimport])"
        )
    return s
