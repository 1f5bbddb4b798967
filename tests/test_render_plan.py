"""The plan views: exact text and Markdown for a realistic plan, secrets never shown, JSON that round-trips."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from bmad_gitops.catalog import Column, Stream
from bmad_gitops.model import ColumnChange, ConfigChange, Location, Message, Plan, SourcePlan
from bmad_gitops.render.plan_json import render_plan_json
from bmad_gitops.render.plan_markdown import render_plan_markdown
from bmad_gitops.render.plan_text import render_plan_text

CANARY = "CANARY-s3cr3t-value"
Render = Callable[..., str]
RENDERERS: list[Render] = [render_plan_text, render_plan_markdown, render_plan_json]


def mixed_plan(*, secret_old: str | None = None, secret_new: str | None = None) -> Plan:
    return Plan(
        sources=(
            SourcePlan(
                name="customers",
                type="file",
                connector="source-file",
                connector_version="0.5.39",
                action="create",
                definition_path="sources/customers.yaml",
                catalog=(
                    Stream(
                        name="customers",
                        columns=(Column(name="customer_id", type="integer"), Column(name="email", type="string")),
                        primary_key=("customer_id",),
                    ),
                ),
                stories=("1.1",),
            ),
            SourcePlan(name="inventory", type="postgres", connector="source-postgres", action="no-op"),
            SourcePlan(
                name="sales",
                type="file",
                connector="source-file",
                connector_version="0.5.39",
                action="update",
                on_drift="freeze",
                config_changes=(
                    ConfigChange(field="config_fingerprint", old="1a2b3c4d", new="9f8e7d6c"),
                    ConfigChange(field="password", old=secret_old, new=secret_new, sensitive=True),
                ),
                stream_changes=(ColumnChange(stream="returns", kind="expansion", breaking=False),),
                catalog=(Stream(name="returns", columns=(Column(name="return_id", type="integer"),)),),
                drift=(
                    ColumnChange(stream="orders", column="discount", kind="expansion", breaking=False, new="number"),
                    ColumnChange(stream="orders", column="amount", kind="contraction", breaking=True, old="number"),
                    ColumnChange(
                        stream="refunds", column="reason", kind="amendment", breaking=True, old="string", new="integer"
                    ),
                ),
                stories=("1.2", "3.1"),
                messages=(
                    Message(
                        level="error",
                        text="declared column 'amount' is missing from stream orders",
                        where=Location(path="sources/sales.yaml", line=14, col=7),
                    ),
                ),
            ),
            SourcePlan(
                name="tickets",
                type="api",
                connector="source-zendesk",
                action="error",
                messages=(
                    Message(level="error", text="connection refused"),
                    Message(level="warning", text="start_date is in the future"),
                ),
            ),
            SourcePlan(name="legacy", type="file", connector="source-file", action="delete"),
        )
    )


MIXED_TEXT = """\
bmad-gitops will perform the following actions:

  + customers (file, source-file 0.5.39)    <- create
      + stream customers
          + customer_id  integer
          + email        string
  ~ sales (file, source-file 0.5.39)        <- update
      ~ config_fingerprint: 1a2b3c4d -> 9f8e7d6c
      ~ password: (sensitive)
      + stream returns
          + return_id  integer
      drift (on_drift: freeze):
          + orders.discount  number              (expansion)
          - orders.amount                        (contraction, BREAKING)
          ~ refunds.reason  string -> integer    (amendment, BREAKING)
      affects stories 1.2, 3.1
      error: sources/sales.yaml:14:7: declared column 'amount' is missing from stream orders
  ! tickets (api, source-zendesk)           <- error
      error: connection refused
      warning: start_date is in the future
  - legacy (file, source-file)              <- destroy

Plan: 1 to add, 1 to change, 1 to destroy. Drift: 3 changes (2 breaking). Errors: 2.
"""

MIXED_MARKDOWN = """\
### bmad-gitops plan

**Plan: 1 to add, 1 to change, 1 to destroy. Drift: 3 changes (2 breaking). Errors: 2.**

| Source | Action | Drift | Breaking | Stories |
| --- | --- | ---: | ---: | --- |
| customers | create | 0 | 0 | 1.1 |
| sales | update | 3 | 2 | 1.2, 3.1 |
| tickets | error | 0 | 0 |  |
| legacy | destroy | 0 | 0 |  |

<details><summary>customers (file, source-file 0.5.39): create</summary>

```diff
+ stream customers
+     customer_id  integer
+     email        string
```

</details>

<details open><summary>sales (file, source-file 0.5.39): update, drift 3 (2 breaking), 1 error</summary>

```diff
~ config_fingerprint: 1a2b3c4d -> 9f8e7d6c
~ password: (sensitive)
+ stream returns
+     return_id  integer
  drift (on_drift: freeze):
+     orders.discount  number              (expansion)
-     orders.amount                        (contraction, BREAKING)
~     refunds.reason  string -> integer    (amendment, BREAKING)
  affects stories 1.2, 3.1
```

- error: sources/sales.yaml:14:7: declared column 'amount' is missing from stream orders

</details>

<details open><summary>tickets (api, source-zendesk): error, 1 error, 1 warning</summary>

- error: connection refused
- warning: start_date is in the future

</details>
"""

NO_CHANGES = "No changes. Your sources match the applied state and the live schemas.\n"


def test_text_for_a_mixed_plan() -> None:
    assert render_plan_text(mixed_plan(secret_old="x", secret_new="y")) == MIXED_TEXT


def test_markdown_for_a_mixed_plan() -> None:
    assert render_plan_markdown(mixed_plan(secret_old="x", secret_new="y")) == MIXED_MARKDOWN


def test_no_changes() -> None:
    quiet = Plan(sources=(SourcePlan(name="inventory", type="file", connector="source-file", action="no-op"),))
    assert render_plan_text(quiet) == NO_CHANGES
    assert render_plan_text(Plan()) == NO_CHANGES
    assert render_plan_markdown(quiet) == "### bmad-gitops plan\n\n" + NO_CHANGES
    assert json.loads(render_plan_json(quiet))["has_changes"] is False


def test_drift_without_changes_is_still_reported() -> None:
    plan = Plan(
        sources=(
            SourcePlan(
                name="sales",
                type="file",
                connector="source-file",
                action="no-op",
                drift=(ColumnChange(stream="orders", column="note", kind="expansion", breaking=False, new="string"),),
            ),
        )
    )
    assert render_plan_text(plan) == (
        "bmad-gitops has no changes to apply, but found the following:\n"
        "\n"
        "    sales (file, source-file)    <- drift only\n"
        "      drift (on_drift: warn):\n"
        "          + orders.note  string    (expansion)\n"
        "\n"
        "Plan: 0 to add, 0 to change, 0 to destroy. Drift: 1 change (0 breaking).\n"
    )


@pytest.mark.parametrize("render", RENDERERS)
@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize(
    ("old", "new"), [(CANARY, CANARY + "-rotated"), (None, CANARY), (CANARY, None)], ids=["changed", "added", "removed"]
)
def test_sensitive_values_never_appear(render: Render, color: bool, old: str | None, new: str | None) -> None:
    out = render(mixed_plan(secret_old=old, secret_new=new), color=color)
    assert CANARY not in out
    assert "(sensitive)" in out


def test_sensitive_sign_follows_presence() -> None:
    assert "      + password: (sensitive)\n" in render_plan_text(mixed_plan(secret_new=CANARY))
    assert "      - password: (sensitive)\n" in render_plan_text(mixed_plan(secret_old=CANARY))


def test_markdown_escapes_table_cells_and_summaries() -> None:
    plan = Plan(
        sources=(
            SourcePlan(
                name="a|b<c>",
                type="file",
                connector="source-file",
                action="update",
                stories=("1|2",),
                messages=(Message(level="warning", text="use <b>bold</b> & more"),),
            ),
        )
    )
    out = render_plan_markdown(plan)
    assert "| a\\|b&lt;c&gt; | update | 0 | 0 | 1\\|2 |" in out
    assert "<summary>a&#124;b&lt;c&gt; (file, source-file): update, 1 warning</summary>" in out
    assert "- warning: use &lt;b&gt;bold&lt;/b&gt; &amp; more" in out
    assert "a|b" not in out


def test_markdown_has_table_and_details() -> None:
    out = render_plan_markdown(mixed_plan())
    assert "| Source | Action | Drift | Breaking | Stories |" in out
    assert "<details open><summary>sales" in out
    assert "<details><summary>customers" in out
    assert "```diff\n" in out


def test_markdown_fence_outlasts_backticks_in_values() -> None:
    plan = Plan(
        sources=(
            SourcePlan(
                name="s",
                type="file",
                connector="source-file",
                action="update",
                config_changes=(ConfigChange(field="url", old="a```b", new="c"),),
            ),
        )
    )
    assert "````diff\n~ url: a```b -> c\n````\n" in render_plan_markdown(plan)


def test_json_round_trips() -> None:
    plan = mixed_plan()  # sensitive change with no values: nothing to mask
    payload = json.loads(render_plan_json(plan))
    assert payload.pop("summary") == {"add": 1, "change": 1, "destroy": 1, "drift": 3, "breaking": 2, "errors": 2, "skipped": 0, "unapplied": 0}
    assert payload.pop("has_changes") is True
    assert Plan.model_validate(payload) == plan


def test_json_masks_sensitive_values() -> None:
    payload = json.loads(render_plan_json(mixed_plan(secret_old=CANARY, secret_new=None)))
    del payload["summary"], payload["has_changes"]
    assert Plan.model_validate(payload) == mixed_plan(secret_old="(sensitive)", secret_new=None)


def test_json_layout() -> None:
    out = render_plan_json(mixed_plan())
    assert out.endswith("}\n")
    assert out == json.dumps(json.loads(out), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("render", RENDERERS)
def test_deterministic_and_plain_without_color(render: Render) -> None:
    plan = mixed_plan(secret_old="x", secret_new="y")
    assert render(plan) == render(plan)
    assert "\x1b" not in render(plan, color=False)


def test_color_marks_signs_and_errors() -> None:
    out = render_plan_text(mixed_plan(), color=True)
    assert "\x1b[32m+\x1b[0m customers" in out
    assert "\x1b[33m~\x1b[0m sales" in out
    assert "\x1b[31m-\x1b[0m legacy" in out
    assert "\x1b[31merror:\x1b[0m connection refused" in out
    assert "\x1b[31mErrors: 2.\x1b[0m" in out
