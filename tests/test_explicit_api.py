"""Issue 6: lazy_module, lazy_attr, when_loaded, is_available and __lazy_modules__."""
from __future__ import annotations

import sys

import pytest

import lazyimport

PKG = {
    "tch/__init__.py": "VERSION = '1'\n",
    "tch/nn/__init__.py": "from .loss import CrossEntropyLoss\nclass Module:\n    pass\n",
    "tch/nn/loss.py": "class CrossEntropyLoss:\n    def __init__(self, w=1):\n        self.w = w\n    def __call__(self, x):\n        return x * self.w\n",
    "tch/nn/functional.py": "def relu(x):\n    return max(x, 0)\n",
    "einx.py": "def rearrange(x, pattern):\n    return (x, pattern)\n",
}


def test_lazy_module_defers_parents_and_is_what_import_returns(fake):
    fake.write(PKG)
    F = lazyimport.lazy_module("tch.nn.functional")
    assert fake.runs() == [] and lazyimport.is_lazy(F)
    assert lazyimport.is_lazy(sys.modules["tch"]) and lazyimport.is_lazy(sys.modules["tch.nn"])
    import tch.nn.functional

    assert tch.nn.functional is F and lazyimport.lazy_module("tch.nn.functional") is F
    assert F.relu(-3) == 0
    assert fake.runs() == ["tch", "tch.nn", "tch.nn.loss", "tch.nn.functional"]


def test_lazy_module_of_a_missing_module_fails_at_once(fake):
    with pytest.raises(ModuleNotFoundError):
        lazyimport.lazy_module("not_a_module_anywhere")


def test_later_submodule_import_still_runs_parents_first(fake):
    fake.write({**PKG, "tch/utils.py": "from tch import VERSION\n"})
    lazyimport.lazy_module("tch")  # no enable(): only lazy_module was used
    import tch.utils

    assert tch.utils.VERSION == "1"
    assert fake.runs() == ["tch", "tch.utils"]


def test_lazy_attr_behaves_like_the_real_object(fake):
    fake.write(PKG)
    CrossEntropyLoss = lazyimport.lazy_attr("tch.nn", "CrossEntropyLoss")
    rearrange = lazyimport.lazy_attr("einx:rearrange")
    assert fake.runs() == []
    assert repr(CrossEntropyLoss) == "<lazy attribute tch.nn:CrossEntropyLoss>"
    loss = CrossEntropyLoss(w=2)  # instantiate
    assert loss(3) == 6 and isinstance(loss, CrossEntropyLoss)
    assert CrossEntropyLoss.__name__ == "CrossEntropyLoss"  # attribute read

    class Weighted(CrossEntropyLoss):  # subclassing
        pass

    assert issubclass(Weighted, CrossEntropyLoss) and Weighted().w == 1
    assert rearrange(1, "b c -> c b") == (1, "b c -> c b")  # call
    real = lazyimport.resolve(CrossEntropyLoss)
    assert real is sys.modules["tch.nn.loss"].CrossEntropyLoss and CrossEntropyLoss == real
    assert hash(CrossEntropyLoss) == hash(real)


def test_lazy_attr_errors(fake):
    fake.write(PKG)
    with pytest.raises(ValueError):
        lazyimport.lazy_attr("no-colon-or-dot")
    with pytest.raises(ModuleNotFoundError):
        lazyimport.lazy_attr("nowhere_module:thing")
    ghost = lazyimport.lazy_attr("einx:ghost")
    with pytest.raises(ImportError, match="cannot import name 'ghost' from 'einx'"):
        ghost()


def test_seed_style_export_module(fake):
    # The migration path from `from app.utils.lazy_loader import torch, F, ...`.
    fake.write({**PKG, "app/__init__.py": "", "app/lazy.py": (
        "import lazyimport\n"
        "tch = lazyimport.lazy_module('tch')\n"
        "nn = lazyimport.lazy_module('tch.nn')\n"
        "F = lazyimport.lazy_module('tch.nn.functional')\n"
        "CrossEntropyLoss = lazyimport.lazy_attr('tch.nn:CrossEntropyLoss')\n"
        "rearrange = lazyimport.lazy_attr('einx:rearrange')\n"
    )})
    from app.lazy import F, CrossEntropyLoss, nn, rearrange, tch

    assert fake.runs() == ["app", "app.lazy"]
    assert F.relu(2) == 2 and nn.Module and tch.VERSION == "1"
    assert CrossEntropyLoss()(2) == 2 and rearrange(1, "x")[1] == "x"
    import tch.nn as real_nn

    assert real_nn is nn


def test_when_loaded_runs_after_the_body_really_ran(fake):
    fake.write({"pil/__init__.py": "", "pil/Image.py": "PLUGINS = []\n",
                "avif_plugin.py": "import pil.Image\npil.Image.PLUGINS.append('avif')\n"})
    lazyimport.enable(["pil"])
    seen = []
    lazyimport.when_loaded("pil.Image", lambda Image: (seen.append(list(Image.PLUGINS)), __import__("avif_plugin")))
    import pil.Image as Image  # deferred: the callback must not fire yet

    assert seen == [] and fake.runs() == []
    assert Image.PLUGINS == ["avif"]  # first use: body runs, then the callback registers the plugin
    assert seen == [[]]
    calls = []
    lazyimport.when_loaded("pil.Image", calls.append)  # already loaded: at once
    assert calls == [Image]


def test_when_loaded_for_a_module_that_is_not_deferred(fake):
    fake.write({"plain.py": "X = 1\n"})
    seen = []
    lazyimport.when_loaded("plain", lambda m: seen.append(m.X))
    assert seen == []
    import plain  # noqa: F401

    assert seen == [1]


def test_when_loaded_callback_errors_are_reported_not_raised(fake):
    fake.write({"plain2.py": "X = 1\n"})
    reported = []
    old = sys.unraisablehook
    sys.unraisablehook = reported.append
    try:
        lazyimport.when_loaded("plain2", lambda m: 1 / 0)
        import plain2
    finally:
        sys.unraisablehook = old
    assert plain2.X == 1
    assert reported and reported[0].exc_type is ZeroDivisionError
    assert "when_loaded('plain2')" in reported[0].err_msg


def test_is_available_runs_nothing(fake):
    fake.write({**PKG, "tch/__init__.py": "raise RuntimeError('must not run')\n"})
    assert lazyimport.is_available("tch.nn.functional")
    assert lazyimport.is_available("tch")
    assert not lazyimport.is_available("tch.nope")
    assert not lazyimport.is_available("nowhere_at_all.sub")
    assert fake.runs() == [] and "tch" not in sys.modules
    with pytest.raises(ValueError):
        lazyimport.is_available("not a name")


def test_lazy_modules_attribute_pep810(fake):
    fake.write({**PKG, "user.py": (
        "__lazy_modules__ = ['tch.nn', 'einx']\n"
        "import einx\nimport tch.nn\nimport json\n"
        "def use():\n    return einx.rearrange(1, 'p'), tch.nn.Module\n"
    )})
    lazyimport.enable()  # no names: only __lazy_modules__ declarations defer
    import user

    assert fake.runs() == ["user"]
    assert lazyimport.is_lazy(user.einx) and lazyimport.is_lazy(user.tch)
    user.use()
    assert fake.runs() == ["user", "einx", "tch", "tch.nn", "tch.nn.loss"]


def test_lazy_modules_attribute_is_ignored_when_disabled(fake):
    fake.write({**PKG, "user2.py": "__lazy_modules__ = ['einx']\nimport einx\n"})
    import user2

    assert fake.runs() == ["user2", "einx"] and not lazyimport.is_lazy(user2.einx)
