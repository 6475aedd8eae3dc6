"""Items 6, 9 and 10: self-replacing modules, submodules imported by their own
package, and the module's real type."""
from __future__ import annotations

import sys
import types

import lazyimport

REPLACES = {
    "auto/__init__.py": """
        import sys, types
        class _Auto(types.ModuleType):
            def __getattr__(self, name):
                return 'auto-' + name
        new = _Auto(__name__)
        new.__dict__.update(sys.modules[__name__].__dict__)
        sys.modules[__name__] = new
        """,
    "auto/terminal.py": "class Formatter:\n    pass\n",
}


def test_module_replacing_itself(fake):
    fake.write(REPLACES)
    lazyimport.enable(["auto"])
    import auto

    old = auto
    from auto.terminal import Formatter  # runs auto first (parent), no ValueError

    assert Formatter.__name__ == "Formatter"
    assert sys.modules["auto"] is not old
    assert old.anything == "auto-anything"  # old references see the replacement
    import auto as again

    assert again.other == "auto-other" and again is sys.modules["auto"]
    assert sys.modules["auto"].terminal is sys.modules["auto.terminal"]
    assert not lazyimport.is_lazy(old)


def test_module_setting_its_own_class(fake):
    # The PEP 726 / gh-117182 pattern: the body assigns its own __class__.
    fake.write({
        "props.py": """
            import sys, types
            class _M(types.ModuleType):
                @property
                def answer(self):
                    return 42
            sys.modules[__name__].__class__ = _M
            """,
    })
    lazyimport.enable(["props"])
    import props

    assert props.answer == 42
    assert type(props).__name__ == "_M"


def test_loader_module_subclass_is_kept_with_its_special_methods(fake):
    # r02/r13: six.moves-style loader that creates a ModuleType subclass.
    class Moves(types.ModuleType):
        __path__: list[str] = []

        @property
        def answer(self):
            return 42

        def __dir__(self):
            return ["ParseResult", "urlparse"]

    class Importer:
        def find_spec(self, name, path=None, target=None):
            if name == "movesmod":
                return sys.modules["_frozen_importlib"].spec_from_loader(name, self)
            return None

        def create_module(self, spec):
            return Moves(spec.name)

        def exec_module(self, module):
            pass

    sys.meta_path.append(Importer())
    lazyimport.enable(["movesmod"])
    import movesmod

    assert lazyimport.is_lazy(movesmod)
    assert isinstance(movesmod, Moves)
    assert dir(movesmod) == ["ParseResult", "urlparse"]  # right from the first call
    assert movesmod.answer == 42 and type(movesmod) is Moves


def test_submodule_imported_by_its_deferred_package_runs_once(fake):
    # r01 / pytest's `got Mark(...) instead of Mark`.
    fake.write({
        "marks/__init__.py": "from .structures import Mark\n",
        "marks/structures.py": "class Mark:\n    pass\n",
    })
    lazyimport.enable(["marks"])
    import marks
    from marks.structures import Mark

    assert Mark is marks.Mark
    assert isinstance(Mark(), marks.Mark)
    assert fake.runs() == ["marks", "marks.structures"]


def test_deferred_child_imported_plainly_by_its_package_runs_in_the_body_order(fake):
    # The user defers pkg.child before pkg ran; pkg's body imports it for its
    # side effect and then iterates its own globals (r11, trio).
    fake.write({
        "order/__init__.py": """
            import order.child
            from . import other
            SEEN = list(__import__('_lazylog').runs())
            for name, obj in list(globals().items()):
                getattr(obj, '__module__', None)
            """,
        "order/child.py": "REGISTRY = ['registered']\n",
        "order/other.py": "",
    })
    lazyimport.enable(["order"])
    import order.child  # deferred before its package ran
    import order

    assert fake.runs() == []
    assert order.SEEN == ["order", "order.child", "order.other"]
    assert not lazyimport.is_lazy(sys.modules["order.child"])
    assert fake.runs() == ["order", "order.child", "order.other"]


def test_from_import_of_deferred_child_inside_package_body(fake):
    fake.write({
        "fp/__init__.py": "from . import child\nAFTER = list(__import__('_lazylog').runs())\n",
        "fp/child.py": "",
    })
    lazyimport.enable(["fp"])
    import fp.child
    import fp

    assert fp.AFTER == ["fp", "fp.child"]
    assert fp.child is sys.modules["fp.child"]
