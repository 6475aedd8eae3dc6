"""Built-in presets: named sets of modules with their prefetch priorities."""
from __future__ import annotations

# The seed application's registry: its 18 exported packages plus the three it
# also warmed in the background.  Priority 1 is prefetched first.  The seed
# gave no priority to einops, pandas, matplotlib and seaborn: they get 3, the
# lowest tier, since none is needed on a typical first request.
SEED: dict[str, int] = {
    "torch": 1, "numpy": 1, "PIL": 1, "cv2": 1, "pygit2": 1,
    "transformers": 2, "torchvision": 2, "timm": 2, "pillow_jxl": 2, "pillow_avif": 2,
    "watchfiles": 2, "sqlalchemy": 2,
    "tensorflow": 3, "sklearn": 3, "ultralytics": 3, "safetensors": 3, "tslearn": 3,
    "einops": 3, "pandas": 3, "matplotlib": 3, "seaborn": 3,
}

PRESETS: dict[str, dict[str, int]] = {"seed": SEED}

# Never deferred by `*` (LAZYIMPORT=*), each for the library behaviour that needs
# it.  Explicitly named modules are not affected.
EVERYTHING_EXCLUDES: dict[str, str] = {
    # Ourselves: the finder must never wait on its own modules.
    "lazyimport": "lazyimport's own modules",
    # site imports these for their side effects only; nothing ever reads them.
    "sitecustomize": "imported by site for its side effects",
    "usercustomize": "imported by site for its side effects",
}
