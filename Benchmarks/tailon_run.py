"""Starts tailon 1.4.3 (the Python tailon, PyPI) on Python 3.10+.

tailon 1.4.3 pins tornado 4.5, which still looks up the container ABCs (`MutableMapping`, ...) on
`collections`; Python 3.10 removed those aliases. This restores them before tailon is imported and
changes nothing else: arguments are tailon's own, e.g. `-b 127.0.0.1:PORT -f FILE`.
"""
import collections
import collections.abc
import sys

for name in ("Callable", "Hashable", "Iterable", "Mapping", "MutableMapping", "MutableSequence",
             "MutableSet", "Sequence", "Set"):
    setattr(collections, name, getattr(collections.abc, name))

from tailon.main import main  # noqa: E402

sys.exit(main())
