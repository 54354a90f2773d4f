"""The world's persistence: a saved world (``docrsim-state/1``) and the files that hold it.

- ``snapshot``: exact export and import of the whole world;
- ``format``: the document's JSON Schema, and how a bad document is told;
- ``gc_state``: garbage collection saved exactly, runs mid-phase included;
- ``fault_state``: a test's fault rules, with their holds on the collector;
- ``statefile``: a saved world on disk, read whole and written atomically;
- ``folder``: the state folder of ``serve --state DIR``, every change on disk before its
  response, compacted into a saved world;
- ``changelog``: that folder's log of changes, and replaying it onto the saved world.
"""
