"""Griffe extension of the API reference (mkdocs.yml): the package's docstrings
name other objects with Sphinx-style roles, ``:mod:`a.b```, ``:func:`~a.b.c```,
``:class:``, ``:meth:``, ``:attr:``, ``:data:`` and ``:exc:``; they render as
inline code (``~``: the last name only).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:mod|func|class|meth|attr|data|exc|obj):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class PackageDocstrings(griffe.Extension):
    """Rewrites each docstring once its object is built."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_role, obj.docstring.value)
