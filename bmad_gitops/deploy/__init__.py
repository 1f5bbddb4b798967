"""Deploy the project's source definitions to an Airbyte workspace through its public API (plan, apply).

Modules, in pipeline order: `settings` (bmad-gitops.yaml), `desired` (definitions -> request bodies),
`client` (HTTP edge), `state` (remote ids, committed), `planner` (pure diff), `applier`, `render`,
`pipeline` (the one entry for front ends) and `commands` (the click group).
"""
