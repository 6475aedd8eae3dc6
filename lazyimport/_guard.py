"""PEP 690's eager rule: is an import inside a ``try`` that has an ``except``
clause, or inside a ``with`` / ``async with`` block?  Such imports must run now
so ``try: import x / except ImportError:`` and ``suppress(ImportError)`` work.

3.9/3.10 keep a block stack (SETUP_FINALLY / SETUP_WITH / SETUP_ASYNC_WITH):
any enclosing guard counts.  3.11+ map each instruction to its innermost
handler in ``co_exceptiontable``; a handler that is no guard (``finally``, the
clean-up after an ``except`` body, generator or inlined-comprehension
handlers) re-raises, so whatever handles *its* first instruction decides.  An
outer ``try/except`` around an inner ``try/finally`` thus counts, as on 3.10.
"""
import sys

TYPE_CHECKING = False  # typing/types cost start-up time; annotations are strings
if TYPE_CHECKING:
    from types import CodeType

__all__ = ["guarded"]

_PRE311 = sys.version_info < (3, 11)
_JUMP_UNIT = 2 if sys.version_info[:2] == (3, 10) else 1  # 3.10 jumps count code units
# SETUP_FINALLY, SETUP_WITH, SETUP_ASYNC_WITH on 3.9/3.10.  Hard-coded so the
# fast path never imports `opcode`; a test checks them against opcode.opmap.
_SETUP_OPS = (122, 143, 154)
_SCAN_LIMIT = 64  # instructions looked at when classifying one 3.11+ handler
_SETUP, _POP, _JREL, _JABS, _END, _EXT = 1, 2, 4, 8, 16, 32  # 3.9/3.10 opcode flags

_CACHE_MAX = 256
# id(code) -> (code, guarded byte spans start0, end0, start1, ..., answers by
# lasti).  Keyed by id: hashing a code object hashes co_consts recursively.
# Holding `code` pins the id while the entry lives.
_cache: "dict[int, tuple[CodeType, tuple[int, ...], dict[int, bool]]]" = {}


def _lookup(code: "CodeType", lasti: int) -> bool:
    """True if the instruction at byte offset *lasti* (``frame.f_lasti``) of
    *code* is protected by an except-bearing ``try`` or a ``with`` block.
    (This is :func:`guarded` on 3.9/3.10.)"""
    entry = _cache.get(id(code))
    if entry is None or entry[0] is not code:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()  # atomic, so safe with imports in several threads; re-analysis is cheap
        entry = _cache[id(code)] = (code, _analyse(code), {})
    hit = entry[2].get(lasti)  # an import site asks again and again
    if hit is None:
        spans = entry[1]
        hit = entry[2][lasti] = any(spans[k] <= lasti < spans[k + 1] for k in range(0, len(spans), 2))
    return hit


if sys.version_info >= (3, 11):

    def guarded(code: "CodeType", lasti: int) -> bool:
        """As :func:`_lookup`; code without any try/with costs one attribute test."""
        return _lookup(code, lasti) if code.co_exceptiontable else False

else:
    guarded = _lookup


class _Ops:
    """Opcode numbers, looked up on first need: plain code never imports `opcode`."""

    def __init__(self) -> None:
        import opcode

        op = opcode.opmap
        self.ext, self.pop_top = op["EXTENDED_ARG"], op["POP_TOP"]
        if _PRE311:
            # A running handler sits on an EXCEPT_HANDLER block (popped by
            # POP_EXCEPT / END_ASYNC_FOR); it is never a guard itself.
            self.setup_finally, self.dup_top = op["SETUP_FINALLY"], op["DUP_TOP"]
            f = {o: _JREL for o in opcode.hasjrel}
            f.update({o: _JABS for o in opcode.hasjabs})
            f.update({o: _SETUP for o in _SETUP_OPS})
            f.update({op[n]: _POP for n in ("POP_BLOCK", "POP_EXCEPT", "END_ASYNC_FOR")})
            for n in ("RETURN_VALUE", "RAISE_VARARGS", "RERAISE", "JUMP_ABSOLUTE", "JUMP_FORWARD"):
                f[op[n]] = f.get(op[n], 0) | _END
            f[self.ext] = _EXT
            self.flags = f
            return
        self.push_exc_info, self.jump_forward = op["PUSH_EXC_INFO"], op["JUMP_FORWARD"]
        self.skip = {op["CACHE"], op["NOP"]}
        self.first = {op["WITH_EXCEPT_START"], op["POP_TOP"]}
        self.match = {op["CHECK_EXC_MATCH"], op["CHECK_EG_MATCH"]}
        names = ("PUSH_EXC_INFO", "RERAISE", "RAISE_VARARGS", "RETURN_VALUE", "POP_EXCEPT", "IMPORT_NAME")
        self.stop = {op[n] for n in names}
        self.stop |= {v for k, v in op.items() if k.startswith(("JUMP_BACKWARD", "RETURN_CONST"))}


_ops: "_Ops | None" = None


def _analyse(code: "CodeType") -> tuple[int, ...]:
    global _ops
    raw = code.co_code
    if sys.version_info >= (3, 11):
        _ops = _ops or _Ops()
        return _table_spans(raw, code.co_exceptiontable, _ops)
    if not any(o in raw[::2] for o in _SETUP_OPS):
        return ()  # no try/with: skip the flow analysis and the `opcode` import
    _ops = _ops or _Ops()
    return _block_spans(raw, _ops)


def _block_spans(raw: bytes, ops: "_Ops") -> tuple[int, ...]:
    """3.9/3.10: the block stack at each reachable offset, by flow analysis
    (a linear scan is wrong: `return`/`break` emit POP_BLOCK mid-block).
    A stack holds, per block, "this block or one below it is a guard"."""
    n, flags = len(raw), ops.flags
    states: list[tuple[bool, ...] | None] = [None] * (n // 2)
    states[0] = ()
    todo = [0]
    while todo:
        i = todo.pop()
        stack = states[i >> 1]
        assert stack is not None
        arg = 0
        while True:
            o, arg, i = raw[i], arg << 8 | raw[i + 1], i + 2
            f = flags.get(o, 0)
            if not f:  # most instructions: just fall through
                arg = 0
            elif f & _EXT:
                pass  # keep `arg` for the prefixed instruction (never a jump target)
            elif f & _SETUP:
                target = i + arg * _JUMP_UNIT
                below = bool(stack) and stack[-1]
                if states[target >> 1] is None:  # the handler runs with this block popped
                    states[target >> 1] = stack + (below,)
                    todo.append(target)
                # except handlers start DUP_TOP (typed) or POP_TOP (bare);
                # a finally body never starts with either.
                guard = o != ops.setup_finally or raw[target] in (ops.dup_top, ops.pop_top)
                stack += (below or guard,)
                arg = 0
            elif f & _POP:
                stack = stack[:-1]
            elif f & (_JREL | _JABS):
                target = (i if f & _JREL else 0) + arg * _JUMP_UNIT
                if target < n and states[target >> 1] is None:
                    states[target >> 1] = stack
                    todo.append(target)
                arg = 0
            if f & _END or i >= n or states[i >> 1] is not None:
                break
            states[i >> 1] = stack
    out: list[int] = []
    for idx, stack in enumerate(states):
        if stack and stack[-1]:
            _add_span(out, 2 * idx, 2 * idx + 2)
    return tuple(out)


def _add_span(out: list[int], start: int, end: int) -> None:
    if out and out[-1] == start:
        out[-1] = end  # spans come in order: extend the last one
    else:
        out += (start, end)


def _entries(table: bytes) -> list[tuple[int, int, int]]:
    """Parse co_exceptiontable into (start, end, handler) byte offsets.  Each
    entry is four varints (start, length, handler, depth/lasti) counted in code
    units; a byte carries 6 value bits, 0x40 means "more bytes follow"."""
    vals: list[int] = []
    it = iter(table)
    for b in it:
        v = b & 63
        while b & 64:
            b = next(it)
            v = v << 6 | (b & 63)
        vals.append(v)
    return [(2 * vals[k], 2 * (vals[k] + vals[k + 1]), 2 * vals[k + 2]) for k in range(0, len(vals) - 3, 4)]


def _is_guard_handler(raw: bytes, at: int, ops: "_Ops") -> bool:
    """3.11+: classify the handler code starting at byte offset *at*."""
    if raw[at] != ops.push_exc_info:
        return False  # generator / comprehension / clean-up handlers
    i, arg, first, steps = at + 2, 0, True, 0
    while i < len(raw) and steps < _SCAN_LIMIT:
        o, arg, i = raw[i], arg << 8 | raw[i + 1], i + 2
        if o == ops.ext:
            continue  # keep the accumulated argument
        if o in ops.skip:
            arg = 0
            continue
        if (first and o in ops.first) or o in ops.match:
            return True  # with clean-up, bare `except:` (drops the exception) or a typed except
        if o in ops.stop:
            return False
        # Walk real control flow only: then a CHECK_*_MATCH reached without a new
        # PUSH_EXC_INFO belongs to this handler (`except (A if c else B):`).
        if o == ops.jump_forward:
            i += arg * 2
        first, steps, arg = False, steps + 1, 0
    return False


def _table_spans(raw: bytes, table: bytes, ops: "_Ops") -> tuple[int, ...]:
    from bisect import bisect_right  # tiny, C-backed; only for code with handlers

    entries = sorted(_entries(table))  # CPython writes them sorted and disjoint
    starts = [e[0] for e in entries]
    verdict: dict[int, bool] = {}
    out: list[int] = []
    for start, end, target in entries:
        chain: list[int] = []
        t: int | None = target
        result = False  # also the answer when a chain ends or loops
        while t is not None and t not in chain:
            if t in verdict:
                result = verdict[t]
                break
            chain.append(t)
            if _is_guard_handler(raw, t, ops):
                result = True
                break
            # Not a guard: it re-raises, so whatever handles its start decides.
            k = bisect_right(starts, t) - 1
            t = entries[k][2] if k >= 0 and t < entries[k][1] else None
        for h in chain:
            verdict[h] = result
        if result:
            _add_span(out, start, end)
    return tuple(out)
