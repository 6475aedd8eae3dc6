"""``python -m lazyimport``: see ``python -m lazyimport --help``."""
from ._cli import main

raise SystemExit(main())
