"""lazyimport's start-up hook for setups that use a sitecustomize.

Copy this file into a directory on sys.path (an image's site-packages, a
PYTHONPATH entry).  At interpreter start it enables lazyimport from LAZYIMPORT /
LAZYIMPORT_CONFIG exactly as the installed ``lazyimport.pth`` does, then runs
the next ``sitecustomize.py`` found further along sys.path, so it never
shadows one that was already there.  It never breaks start-up: any problem is
one ``lazyimport:`` line on stderr.
"""


def _lazyimport_start() -> None:
    import os
    import sys

    if "LAZYIMPORT" in os.environ or "LAZYIMPORT_CONFIG" in os.environ:
        try:
            from lazyimport._boot import boot
        except Exception as exc:
            sys.stderr.write(f"lazyimport: start-up hook not loaded: {type(exc).__name__}: {exc}\n")
        else:
            boot()
    # Chain to the sitecustomize this file hides: the next one on sys.path.
    here = os.path.dirname(os.path.abspath(__file__))
    seen = False
    for entry in sys.path:
        directory = os.path.abspath(entry or os.getcwd())
        if directory == here:
            seen = True
            continue
        candidate = os.path.join(directory, "sitecustomize.py")
        if seen and os.path.isfile(candidate):
            try:
                with open(candidate, "rb") as f:
                    code = compile(f.read(), candidate, "exec")
                namespace = {"__name__": "sitecustomize", "__file__": candidate}
                exec(code, namespace)
                sys.modules[__name__].__dict__.update(
                    {k: v for k, v in namespace.items() if not k.startswith("__")}
                )
            except Exception as exc:
                sys.stderr.write(f"lazyimport: the chained {candidate} failed: {type(exc).__name__}: {exc}\n")
            return


_lazyimport_start()
del _lazyimport_start
