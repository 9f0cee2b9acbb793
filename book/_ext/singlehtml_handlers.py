"""Sphinx extension: give the single-page HTML builder every HTML node handler.

Sphinx looks up the visit/depart functions of an extension's nodes by builder *name* first and
falls back to the builder *format* ("html") only when no handler at all is registered under the
name. sphinx-exercise registers its nodes for ``singlehtml`` by name, so from then on the
single-page builder (``make pdf``, ``book/build.py --pdf``) no longer sees the handlers other
extensions registered for ``html`` only, such as myst-nb's folded code cells (``hide-input``), and
fails with "unknown node type: HideCodeCellNode". When a builder of format ``html`` starts, this
extension adds every ``html`` handler that its own table lacks (handlers registered under its
name win).
"""

from __future__ import annotations


def share_html_handlers(app) -> None:
    """On ``builder-inited``: fill the current HTML builder's handler table with the ``html`` ones."""
    handlers = app.registry.translation_handlers
    name = app.builder.name
    if app.builder.format != "html" or name == "html" or name not in handlers:
        return
    for node, pair in handlers.get("html", {}).items():
        handlers[name].setdefault(node, pair)


def setup(app):
    app.connect("builder-inited", share_html_handlers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
