"""How large a request body each kind of endpoint accepts; a longer one is answered 413.

Blob uploads on the registry host have no limit: their bodies are streamed into the upload,
never held whole, and only the tier's storage bounds them.
"""

MiB = 1024 * 1024

# A DO API or control API JSON body; DO's own bodies are a few hundred bytes.
JSON_BODY_LIMIT = 1 * MiB
# A scenario document for POST /_docrsim/fixtures, which may carry blob bytes as base64.
SCENARIO_BODY_LIMIT = 16 * MiB
# A saved world for POST /_docrsim/reset carries every blob's bytes.
STATE_BODY_LIMIT = 1024 * MiB
# A manifest pushed to the registry host, as registries commonly limit them.
MANIFEST_BODY_LIMIT = 4 * MiB
