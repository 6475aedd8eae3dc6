"""``python -m lazyimport``: status, run and profile.

``main(argv) -> int`` runs in-process (tests call it directly); argparse and
rich are imported here and in _render only, never by ``import lazyimport``.
"""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ._program import Target

OK, PROBLEM, USAGE, NO_PROCESS, STALE = 0, 1, 2, 3, 4
INTERRUPTED = 130

EXIT_CODES = """\
exit status:
  0    fine
  1    a configured module is missing, or a module failed to load
  2    usage or configuration error (bad arguments, malformed or no configuration)
  3    no such process, or it does not publish its status (status --pid)
  4    stale status file: the process died without removing it (status --pid)
  130  interrupted (Ctrl-C)
  run and profile exit with the program's own status."""

DESCRIPTION = "Inspect lazy imports: what is configured, what a process deferred and loaded, what to defer."


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m lazyimport", description=DESCRIPTION, epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="command")

    status = commands.add_parser(
        "status", help="the configured modules, or the live status of a process",
        description="Without --pid: each module configured by LAZYIMPORT / [tool.lazyimport] "
        "(found from the working directory), installed or missing, without importing it. "
        "With --pid: the status a running process publishes (LAZYIMPORT_PUBLISH=1).",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.add_argument("--pid", type=int, help="read the status published by process PID")
    status.add_argument("--watch", action="store_true",
                        help="with --pid: a live view until the process exits")
    status.add_argument("--modules", action="store_true",
                        help="with --pid: every handled module, not only the configured ones")
    status.set_defaults(func=cmd_status)

    run = commands.add_parser(
        "run", help="run a program with lazy imports on, then show what was loaded",
        usage="python -m lazyimport run [--prefetch] [--names a,b] [--json-report PATH] "
        "(script.py | -m module) [args ...]",
        description="Run the program in this process with lazy imports of --names (else the "
        "configured names); its output and exit status are its own; the status table goes to stderr.",
    )
    run.add_argument("--names",
                     help="modules to defer: name[:priority],... or a preset (default: LAZYIMPORT / [tool.lazyimport])")
    run.add_argument("--prefetch", action="store_true",
                     help="load the deferred modules in the background (lazyimport.prefetch())")
    run.add_argument("--json-report", metavar="PATH", help="also write lazyimport.status() as JSON to PATH")
    _add_target(run)
    run.set_defaults(func=cmd_run)

    profile = commands.add_parser(
        "profile", help="measure which packages make start-up slow, and what to defer",
        usage="python -m lazyimport profile [--threshold MS] [--top N] [--lazy] [--json-report PATH] "
        "(script.py | -m module) [args ...]",
        description="Run the program under python -X importtime (LAZYIMPORT* variables removed "
        "unless --lazy), then show the non-stdlib packages that cost the most start-up time "
        "and the configuration that would defer them.  Report on stderr.",
    )
    profile.add_argument("--threshold", type=float, default=5.0, metavar="MS",
                         help="suggest deferring packages costing at least MS milliseconds (default 5)")
    profile.add_argument("--top", type=int, default=10, metavar="N",
                         help="show the N heaviest packages (default 10)")
    profile.add_argument("--lazy", action="store_true",
                         help="keep the LAZYIMPORT* variables (measure the configured deferral)")
    profile.add_argument("--json-report", metavar="PATH", help="also write the report as JSON to PATH")
    _add_target(profile)
    profile.set_defaults(func=cmd_profile)
    return parser


def _add_target(parser: argparse.ArgumentParser) -> None:
    import argparse

    parser.add_argument("-m", dest="module", nargs=argparse.REMAINDER, metavar="module [args]",
                        help="run a module as python -m does")
    parser.add_argument("script", nargs=argparse.REMAINDER, help="the script and its arguments")


def main(argv: list[str] | None = None, *, console: Any = None, err_console: Any = None) -> int:
    """Run the command line; return the exit status (``console``s: rich Consoles, for tests)."""
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed)
        return exc.code if isinstance(exc.code, int) else USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE
    args.console, args.err_console = console, err_console
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return INTERRUPTED


def fail(message: str, code: int = USAGE) -> int:
    sys.stderr.write(f"lazyimport: {message}\n")
    return code


def _out(args: Any, stderr: bool = False) -> Any:
    from rich.console import Console

    given = args.err_console if stderr else args.console
    return given if given is not None else Console(stderr=stderr)


NO_RICH = "lazyimport: tables need rich: pip install 'lazyimport[cli]' (or use --json)\n"


def show(args: Any, view: dict[str, Any], stderr: bool = False) -> None:
    """Render *view* with rich; without rich, as plain lines (the data matters more)."""
    try:
        from . import _render

        console = _out(args, stderr)
    except ImportError:
        from ._views import plain

        stream = sys.stderr if stderr else sys.stdout
        stream.write(plain(view) + NO_RICH)
        return
    _render.print_view(console, view)


def _print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def cmd_status(args: Any) -> int:
    if args.watch and args.pid is None:
        return fail("status: --watch needs --pid PID")
    if args.pid is not None:
        from . import _watch

        return _watch.status_of(args)
    return _status_configured(args)


def _status_configured(args: Any) -> int:
    from . import _config, _views

    settings = _config.resolve()
    inactive = not settings.enabled and not settings.problems
    if inactive:
        # Unset (or LAZYIMPORT=0): show what the file would configure, marked inactive.
        settings = _config.resolve({**os.environ, "LAZYIMPORT": "1"})
        if not settings.names:
            return fail(
                "nothing is configured: set LAZYIMPORT=name,... or add names = [...] under "
                "[tool.lazyimport] in pyproject.toml (`python -m lazyimport profile script.py` "
                "suggests them)"
            )
    data = _views.configuration(settings, active=not inactive)
    view = _views.configuration_view(data)
    code = USAGE if data["problems"] else _views.exit_code_for(view["rows"])
    if args.json:
        _print_json(data)
    else:
        show(args, view)
    return code


def _target(args: Any) -> Target | None:
    from ._program import Target

    if args.module:
        return Target("module", args.module[0], list(args.module[1:]))
    if args.script:
        if args.script[0] == "--":
            args.script = args.script[1:]
        if args.script:
            return Target("path", args.script[0], list(args.script[1:]))
    return None


def _checked_target(args: Any) -> Target | int:
    target = _target(args)
    if target is None:
        return fail(f"{args.command}: give a script (script.py [args]) or a module (-m module [args])")
    if target.kind == "path" and not os.path.exists(target.name):
        return fail(f"{args.command}: can't open file {target.name!r}: no such file")
    return target


def cmd_run(args: Any) -> int:
    from . import _boot, _config, _program

    target = _checked_target(args)
    if isinstance(target, int):
        return target
    settings = _config.resolve()
    for problem in settings.problems:
        if not args.names or "names" not in problem:  # --names replaces the configured ones
            sys.stderr.write(f"lazyimport: {problem} (ignored)\n")
    if args.names:
        try:
            _, names = _config.parse_names(args.names, "--names")
        except _config.SettingError as exc:
            return fail(f"run: {exc}")
        if not names:
            return fail(f"run: --names {args.names!r} names no module")
        settings.names, settings.enabled = names, True
    if not settings.names:
        return fail("run: no modules to defer: pass --names a,b or configure LAZYIMPORT / [tool.lazyimport] names")
    _boot.apply(settings)
    import lazyimport

    if args.prefetch:
        if hasattr(lazyimport, "prefetch"):
            lazyimport.prefetch()
        else:
            sys.stderr.write("lazyimport: --prefetch: this lazyimport has no prefetch(); ignored\n")
    code = _program.run_here(target)
    snapshot = lazyimport.status()  # before rich or importlib.metadata are imported
    if args.json_report:
        _write_json(args.json_report, snapshot)
    from . import _views

    view = _views.snapshot_view(snapshot, title=f"lazyimport: {target.name} exited with status {code}")
    show(args, view, stderr=True)
    return code


def _write_json(path: str, data: Any) -> None:
    import json

    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, default=str)
        os.replace(tmp, path)
    except OSError as exc:
        sys.stderr.write(f"lazyimport: could not write {path!r}: {exc}\n")


def cmd_profile(args: Any) -> int:
    from . import _importtime, _probe, _program, _stdlib

    target = _checked_target(args)
    if isinstance(target, int):
        return target
    if args.threshold < 0 or args.top < 1:
        return fail("profile: --threshold must be >= 0 and --top >= 1")
    env = dict(os.environ)
    if not args.lazy:
        for key in [k for k in env if k.startswith("LAZYIMPORT")]:
            del env[key]
    lines: list[str] = []

    def on_line(line: str) -> None:
        if line.startswith(_importtime.PREFIX):
            lines.append(line)
        else:
            sys.stderr.write(line)  # the program's own stderr, passed through

    code = _program.run_importtime(target, env, on_line)
    own = [target.name.partition(".")[0]] if target.kind == "module" else []
    # The program's first sys.path entry: its script's directory, or the cwd.
    first = os.getcwd() if target.kind == "module" else os.path.dirname(os.path.abspath(target.name))
    report = _importtime.analyse(
        _importtime.parse(lines), _stdlib.names(), threshold_ms=args.threshold, top=args.top,
        exclude=own, installed=lambda name: _probe.find(name, [first]).installed,
    )
    report["exit_code"] = code
    if args.json_report:
        _write_json(args.json_report, report)
    try:
        from . import _render

        console = _out(args, stderr=True)
    except ImportError:
        sys.stderr.write(NO_RICH.replace("(or use --json)", "(or use --json-report PATH)"))
        return code
    if not lines:
        console.print("lazyimport: no import times were recorded (did the program start?)")
    else:
        _render.print_profile(console, report)
    return code
