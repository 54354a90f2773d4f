"""URL rules whose URL builders are made on first use.

As a rule is added, werkzeug writes two Python functions for it (building its URL, with and
without extra arguments) through ``ast`` and ``compile``. For docrsim's 70-odd rules that was
most of what starting a Simulator cost after the imports, while docrsim builds URLs from rules
in the control panel only, and matching a request needs none of them.
"""

from __future__ import annotations

from werkzeug.routing import Rule


class LazyBuilderRule(Rule):
    def _compile_builder(self, append_unknown: bool = True):
        compiled = []

        def build(rule, *args, **kwargs):
            if not compiled:  # two threads may both compile it: the same function either way
                compiled.append(Rule._compile_builder(rule, append_unknown))
            return compiled[0](rule, *args, **kwargs)

        return build
