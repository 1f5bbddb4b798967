"""The HTTP service: a FastAPI front end over engine.py for BMad agents, with keys, scopes, an audit log,
limits and connector work in worker processes. `create_app` in app.py builds it; commands.py holds the CLI."""
