"""Tests for lazyimport._guard.guarded (PEP 690 eager-import rule).

Snippets name their target modules by the expected answer: an import (or
`import_module`/`__import__` call) of a module whose name starts with ``g_``
must be reported guarded, ``u_`` unguarded.
"""
from __future__ import annotations

import dis
import importlib
import importlib.util
import re
import sys
import textwrap
import types
from pathlib import Path
from typing import Iterator

import pytest

try:
    from lazyimport import _guard
except Exception:  # the package may be mid-edit; this module stands alone
    _spec = importlib.util.spec_from_file_location(
        "_lazyimport_guard_under_test", Path(__file__).parents[1] / "lazyimport" / "_guard.py"
    )
    assert _spec is not None and _spec.loader is not None
    _guard = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_guard)

guarded = _guard.guarded
PY311 = sys.version_info >= (3, 11)
CALLS = ("CALL", "CALL_FUNCTION", "CALL_METHOD", "CALL_FUNCTION_KW", "CALL_KW")


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def targets(code: types.CodeType) -> list[tuple[str, types.CodeType, list[int]]]:
    """Every marker import with all offsets f_lasti may report for it: any
    EXTENDED_ARG prefix (3.9/3.10 report that), the instruction, and its inline
    caches (3.11/3.12 report the last cache of a CALL into Python code)."""
    found = []
    for co in _codes(code):
        ins = list(dis.get_instructions(co))
        pending: str | None = None
        for k, i in enumerate(ins):
            name = None
            if i.opname == "IMPORT_NAME" and str(i.argval).startswith(("g_", "u_")):
                name = i.argval
            elif i.opname == "LOAD_CONST" and isinstance(i.argval, str) and i.argval.startswith(("g_", "u_")):
                pending = i.argval
            elif i.opname in CALLS and pending:
                name, pending = pending, None
            if name is None:
                continue
            start = k
            while start and ins[start - 1].opname == "EXTENDED_ARG":
                start -= 1
            end = ins[k + 1].offset if k + 1 < len(ins) else len(co.co_code)
            offsets = [p.offset for p in ins[start:k]] + list(range(i.offset, end, 2))
            found.append((name, co, offsets))
    return found


def check(src: str, expected_count: int | None = None) -> None:
    code = compile(textwrap.dedent(src), "<snippet>", "exec")
    found = targets(code)
    # Every marker in the source must be located (3.9/3.10 may hold a finally
    # body twice, so more hits than markers is fine).
    assert {n for n, _, _ in found} == set(re.findall(r"\b[gu]_[\w.]+", src))
    if expected_count is not None:
        assert len(found) == expected_count
    for name, co, offsets in found:
        want = name.startswith("g_")
        got = {off: guarded(co, off) for off in offsets}
        assert all(v == want for v in got.values()), (name, co.co_name, got)


SNIPPETS = {
    "plain": "import u_a\nfrom u_b import c\nimport u_c.d as e\n",
    "function": "def f():\n    import u_a\n",
    "class": "class C:\n    import u_a\n",
    "loop": "for i in x:\n    import u_a\nwhile y:\n    import u_b\n",
    "except_importerror": "try:\n    import g_a\nexcept ImportError:\n    pass\n",
    "except_exception_as": "try:\n    import g_a\nexcept Exception as e:\n    print(e)\n",
    "bare_except": "try:\n    import g_a\nexcept:\n    x = 1\n",
    "except_tuple": "try:\n    import g_a\nexcept (ImportError, AttributeError):\n    pass\n",
    "except_attribute": "try:\n    import g_a\nexcept mod.sub.Error:\n    pass\n",
    "except_conditional": "try:\n    import g_a\nexcept (A if c else B):\n    pass\n",
    "except_call": "try:\n    import g_a\nexcept errors():\n    pass\n",
    "finally_only": "try:\n    import u_a\nfinally:\n    x = 1\n",
    "finally_pass": "def f():\n    try:\n        import u_a\n    finally:\n        pass\n",
    "all_parts": """
        try:
            import g_try
        except ImportError:
            import u_except
        else:
            import u_else
        finally:
            import u_finally
        import u_after
    """,
    "all_parts_in_function": """
        def f():
            try:
                import g_try
            except ImportError as e:
                import u_except
            else:
                import u_else
            finally:
                import u_finally
    """,
    "finally_inside_except": """
        try:
            try:
                import g_inner
            finally:
                import g_finally_body
        except ImportError:
            pass
    """,
    "except_body_inside_outer_try": """
        try:
            try:
                import g_a
            except KeyError:
                import g_b
        except ImportError:
            pass
    """,
    "with": "with open(p) as f:\n    import g_a\nimport u_b\n",
    "with_two_items": "with a, b as c:\n    import g_a\n",
    "suppress": "from contextlib import suppress\nwith suppress(ImportError):\n    import g_a\n",
    "try_finally_in_with": "with x:\n    try:\n        import g_a\n    finally:\n        import g_b\n",
    "with_in_except_body": "try:\n    pass\nexcept E:\n    with x:\n        import g_a\n    import u_b\n",
    "async_with": "async def f():\n    async with x:\n        import g_a\n    import u_b\n",
    "async_for": "async def f():\n    async for i in x:\n        import u_a\n",
    "async_for_in_try": "async def f():\n    try:\n        async for i in x:\n            import g_a\n    except ImportError:\n        pass\n",
    "generator": "def f():\n    import u_a\n    yield 1\n    import u_b\n",
    "generator_try": "def f():\n    try:\n        yield 1\n        import g_a\n    except ImportError:\n        pass\n    import u_b\n",
    "coroutine": "async def f():\n    import u_a\n    await x\n    import u_b\n",
    "coroutine_try": "async def f():\n    try:\n        await x\n        import g_a\n        await y\n    except ImportError:\n        import u_b\n",
    "await_in_async_with": "async def f():\n    async with x:\n        await y\n        import g_a\n        async with z:\n            import g_b\n",
    # Only the importing frame is judged: a body that runs in its own frame
    # (function, class body, <3.12 comprehension) sees no try around it.
    "nested_scopes_in_try": "try:\n    class C:\n        import u_a\n    def f():\n        import u_b\nexcept ImportError:\n    pass\n",
    "comprehension": "def f(ns):\n    return [__import__('u_a') for n in ns]\n",
    "module_comprehension": "x = {n: __import__('u_a') for n in ns}\n",
    "import_module": "import importlib\nimportlib.import_module('u_a')\n",
    "import_module_in_try": """
        import importlib
        def f():
            try:
                m = importlib.import_module('g_a')
            except ImportError:
                m = None
            return importlib.import_module('u_b')
    """,
    "dunder_import_in_with": "with s:\n    m = __import__('g_a')\n",
    "return_before_import": """
        def f(c):
            try:
                if c:
                    return 1
                import g_a
            except ImportError:
                pass
    """,
    "break_continue": """
        for i in x:
            try:
                if i:
                    continue
                if not i:
                    break
                import g_a
            except ImportError:
                pass
            import u_b
    """,
    "loop_in_try": """
        try:
            for i in x:
                import g_a
            with y:
                pass
            import g_b
        except ImportError:
            pass
    """,
    "lambda": "f = lambda: __import__('u_a')\n",
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_snippet(name: str) -> None:
    check(SNIPPETS[name])


def test_comprehension_in_try() -> None:
    # Before 3.12 the comprehension body is its own code object and frame, whose
    # code has no try: only the caller could tell. 3.12 inlines it (PEP 709) and
    # its handler re-raises into the enclosing try/except.
    tag = "g" if sys.version_info >= (3, 12) else "u"
    check(f"def f(ns):\n    try:\n        return [__import__('{tag}_a') for n in ns]\n    except ImportError:\n        pass\n", 1)


@pytest.mark.skipif(not PY311, reason="except* needs 3.11")
def test_except_star() -> None:
    check("try:\n    import g_a\nexcept* ImportError:\n    import u_b\n", 2)


def test_extended_arg() -> None:
    # >256 names pushes the marker's name index past one byte: EXTENDED_ARG.
    names = "".join(f"v{i} = 1\n" for i in range(300))
    src = names + "try:\n    import g_big\nexcept ImportError:\n    pass\nimport u_big\n"
    code = compile(src, "<big>", "exec")
    ops = [i.opname for i in dis.get_instructions(code)]
    assert "EXTENDED_ARG" in ops
    check(src, 2)


def test_long_blocks_need_extended_jump_args() -> None:
    # A try/with body over 512 bytes: SETUP_*/jump arguments get EXTENDED_ARG.
    body = "".join(f"    v{i} = {i}\n" for i in range(300))
    check(f"try:\n    import g_a\n{body}    import g_b\nexcept ImportError:\n    import u_c\n", 3)
    check(f"def f():\n    with x:\n{body}        import g_a\n    import u_b\n".replace("\n    v", "\n        v"), 2)
    check(f"for i in x:\n    try:\n        import g_a\n    except ImportError:\n        import u_b\n{body}    import u_c\n", 3)


def test_warm_answers_match_cold() -> None:
    code = compile(textwrap.dedent(SNIPPETS["all_parts"]), "<s>", "exec")
    cold = []
    for off in range(0, len(code.co_code), 2):
        _guard._cache.clear()
        cold.append(guarded(code, off))
    assert [guarded(code, off) for off in range(0, len(code.co_code), 2)] == cold
    assert [guarded(code, off) for off in reversed(range(0, len(code.co_code), 2))] == cold[::-1]
    assert any(cold) and not all(cold)


def test_outside_and_negative_offsets() -> None:
    code = compile("try:\n    import g_a\nexcept ImportError:\n    pass\n", "<s>", "exec")
    assert not guarded(code, -1)
    assert not guarded(code, len(code.co_code) + 100)


def test_plain_code_fast_path_not_cached() -> None:
    code = compile("import u_a\nx = 1\n", "<plain>", "exec")
    assert not guarded(code, 0)
    if PY311:  # no exception table: answered before touching the cache
        assert id(code) not in _guard._cache


def test_cache_is_bounded() -> None:
    codes = [compile(f"try:\n    import g_{i}\nexcept ImportError:\n    pass\n", "<c>", "exec") for i in range(_guard._CACHE_MAX + 50)]
    for code in codes:
        guarded(code, 0)
    assert len(_guard._cache) <= _guard._CACHE_MAX


def test_threads_share_the_cache() -> None:
    import threading

    codes = [compile(f"with s:\n    import g_{i}\n", "<t>", "exec") for i in range(3 * _guard._CACHE_MAX)]
    sites = [next(i.offset for i in dis.get_instructions(c) if i.opname == "IMPORT_NAME") for c in codes]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                assert all(guarded(c, s) for c, s in zip(codes, sites))
        except BaseException as e:  # surfaced by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.skipif(PY311, reason="block-stack opcodes exist only on 3.9/3.10")
def test_setup_opcode_numbers() -> None:
    import opcode

    names = ("SETUP_FINALLY", "SETUP_WITH", "SETUP_ASYNC_WITH")
    assert _guard._SETUP_OPS == tuple(opcode.opmap[n] for n in names)


def test_exception_table_parser_matches_dis() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("co_exceptiontable is 3.11+")
    src = "".join(map(textwrap.dedent, SNIPPETS.values())) + "".join(f"v{i} = 1\n" for i in range(3000))
    src += textwrap.dedent(SNIPPETS["all_parts"])  # offsets > 4096 need multi-byte varints
    for co in _codes(compile(src, "<t>", "exec")):
        want = [(e.start, e.end, e.target) for e in getattr(dis.Bytecode(co), "exception_entries")]
        assert _guard._entries(co.co_exceptiontable) == want


def test_end_to_end_meta_path(tmp_path: Path) -> None:
    for name in ("lzfake_g1", "lzfake_g2", "lzfake_g3", "lzfake_u1", "lzfake_u2"):
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    (tmp_path / "lzfake_driver.py").write_text(textwrap.dedent("""
        import importlib
        try:
            import lzfake_g1
        except ImportError:
            lzfake_g1 = None
        import lzfake_u1
        def load():
            with open(__file__):
                importlib.import_module("lzfake_g2")
            try:
                from lzfake_g3 import VALUE
            except Exception:
                pass
            return importlib.import_module("lzfake_u2")
    """))
    records: list[tuple[str, bool, str]] = []
    skip = importlib.__file__

    class Recorder:
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            if name.startswith("lzfake_") and name != "lzfake_driver":
                f = sys._getframe(1)
                # Walk past the import machinery (and import_module's own frame).
                while f.f_code.co_filename.startswith("<frozen importlib") or f.f_code.co_filename == skip:
                    back = f.f_back
                    assert back is not None
                    f = back
                records.append((name, guarded(f.f_code, f.f_lasti), f.f_code.co_name))
            return None

    finder = Recorder()
    sys.meta_path.insert(0, finder)
    sys.path.insert(0, str(tmp_path))
    try:
        driver = importlib.import_module("lzfake_driver")
        driver.load()
    finally:
        sys.meta_path.remove(finder)
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("lzfake_")]:
            del sys.modules[name]
    assert sorted(records) == [
        ("lzfake_g1", True, "<module>"),
        ("lzfake_g2", True, "load"),
        ("lzfake_g3", True, "load"),
        ("lzfake_u1", False, "<module>"),
        ("lzfake_u2", False, "load"),
    ]
