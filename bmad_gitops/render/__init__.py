"""Views: turn diagnostics or a plan into text, JSON, Markdown or GitHub annotations. No logic lives here."""
