"""REST APIs: a `type: api` definition compiled into an Airbyte declarative manifest, run in-process.

`config` maps a definition onto the connector config (pure, import-light), `manifest` is the compiler,
`backend` runs it through PyAirbyte, and `openapi` turns an OpenAPI 3 document into endpoints.
"""
