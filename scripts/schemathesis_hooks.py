"""Schemathesis hooks for scripts/schemathesis (loaded through SCHEMATHESIS_HOOKS).

`POST /v1/documents/verify` takes the PDF itself (`application/pdf`), a media type schemathesis
has no serializer for: send the generated body as raw bytes, as it does for
`application/octet-stream`.
"""

import schemathesis

schemathesis.serializer.alias("application/pdf", "application/octet-stream")
