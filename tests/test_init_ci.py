"""What `init` writes works as written, offline: the pre-commit hook (run for real), the .gitignore, and the
pull-request workflow; this repository's workflows and composite action pass GitHub's schemas.

The workflow's plan step and comment script are run too: the shell with a stand-in `bmad-gitops`, the
JavaScript with node and a stand-in GitHub client, so "exit 2 is success" and "update the one comment" are
checked, not just read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bmad_gitops import __version__
from bmad_gitops.scaffold import ScaffoldError, init_repository

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PRE_COMMIT = VENV_BIN / "pre-commit"
CHECK_JSONSCHEMA = VENV_BIN / "check-jsonschema"
WORKFLOW = ".github/workflows/bmad-gitops.yml"
MARKER = "<!-- bmad-gitops-plan -->"

PLAINTEXT_PASSWORD = """\
type: database
connector: source-postgres
config:
  host: db.internal
  port: 5432
  database: shop
  username: reader
  password: hunter2
"""

GOOD_SOURCE = """\
type: file
connector: source-file
format: csv
config:
  dataset_name: customers
  format: csv
  url: data/customers.csv
  provider:
    storage: local
"""


def init(root: Path, **options: Any) -> list[str]:
    return list(init_repository(root, **options))


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- .pre-commit-config.yaml


def test_default_hook_is_local_and_names_nothing_remote(tmp_path: Path) -> None:
    init(tmp_path)
    config = load(tmp_path / ".pre-commit-config.yaml")
    assert config == {
        "repos": [
            {
                "repo": "local",
                "hooks": [
                    {
                        "id": "bmad-gitops-validate",
                        "name": "bmad-gitops validate",
                        "entry": "bmad-gitops validate",
                        "language": "system",
                        "files": r"^sources/.*\.ya?ml$",
                        "require_serial": True,
                    }
                ],
            }
        ]
    }
    assert "rev:" not in (tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8")


def test_published_hook_repository_and_rev(tmp_path: Path) -> None:
    init(tmp_path, hook_repo="https://github.com/acme/bmad-gitops", rev="v1.2.3")
    config = load(tmp_path / ".pre-commit-config.yaml")
    assert config["repos"] == [
        {"repo": "https://github.com/acme/bmad-gitops", "rev": "v1.2.3", "hooks": [{"id": "bmad-gitops-validate"}]}
    ]
    install = step(load(tmp_path / WORKFLOW), "Install bmad-gitops")["run"]
    assert install == 'pip install "bmad-gitops[live] @ git+https://github.com/acme/bmad-gitops@v1.2.3"'


@pytest.mark.parametrize("options", [{"hook_repo": "https://github.com/acme/bmad-gitops"}, {"rev": "v1"}])
def test_hook_repository_and_rev_go_together(tmp_path: Path, options: dict[str, str]) -> None:
    with pytest.raises(ScaffoldError, match="together"):
        init_repository(tmp_path, **options)
    assert list(tmp_path.iterdir()) == []  # refused before writing anything


# --- .gitignore


def test_gitignore_covers_secrets_caches_and_saved_plans(tmp_path: Path) -> None:
    init(tmp_path)
    lines = (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {".env", ".bmad-gitops/", "*.plan.json", "plan.json"} <= set(lines)


def test_gitignore_is_appended_to_once(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n.env", encoding="utf-8")
    assert "updated .gitignore (added .bmad-gitops/, *.plan.json, plan.json)" in init(tmp_path)
    first = (tmp_path / ".gitignore").read_text(encoding="utf-8")
    assert first.startswith("node_modules/\n.env\n")
    assert first.count(".env") == 1
    assert "kept    .gitignore (already ignores what bmad-gitops needs)" in init(tmp_path)
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == first


def test_gitignore_ignores_saved_plans_in_git(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    init(tmp_path)
    for name in ("plan.json", "pr-42.plan.json", ".bmad-gitops/cache/x.json", ".env"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", "plan.json", "pr-42.plan.json", ".bmad-gitops/cache/x.json", ".env"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.stdout.split() == ["plan.json", "pr-42.plan.json", ".bmad-gitops/cache/x.json", ".env"]


# --- the real pre-commit on what init wrote, offline


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """No network to be had (every proxy is a closed port, pip has no index) and bmad-gitops on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PRE_COMMIT")}
    dead = "http://127.0.0.1:9"
    env.update(
        PATH=os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        PRE_COMMIT_COLOR="never",
        HTTP_PROXY=dead,
        HTTPS_PROXY=dead,
        http_proxy=dead,
        https_proxy=dead,
        PIP_NO_INDEX="1",
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


@pytest.fixture
def initialised(tmp_path: Path, offline_env: dict[str, str]) -> Path:
    """A fresh git repository set up by init, with the hook installed and a data file committed."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q")
    for key, value in (
        ("user.name", "bmad-gitops tests"),
        ("user.email", "t@example.com"),
        ("commit.gpgsign", "false"),
    ):
        git(root, "config", key, value)
    init(root)
    (root / "data").mkdir()
    shutil.copy(REPO / "data" / "customers.csv", root / "data" / "customers.csv")
    installed = subprocess.run([str(PRE_COMMIT), "install"], cwd=root, env=offline_env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    git(root, "add", "-A")
    first = git(root, "commit", "-q", "-m", "bmad-gitops init", env=offline_env)
    assert first.returncode == 0, first.stdout
    return root


def commit(root: Path, env: dict[str, str], name: str, text: str) -> subprocess.CompletedProcess[str]:
    (root / "sources" / name).write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    return git(root, "commit", "-m", f"add {name}", env=env)


def test_initialised_hook_refuses_a_bad_commit_offline(initialised: Path, offline_env: dict[str, str]) -> None:
    done = commit(initialised, offline_env, "orders_db.yaml", PLAINTEXT_PASSWORD)
    assert done.returncode != 0, done.stdout
    assert "sources/orders_db.yaml:8:13: error[BG200]" in done.stdout
    assert "hunter2" not in done.stdout
    assert git(initialised, "rev-list", "--count", "HEAD").stdout.strip() == "1"


def test_initialised_hook_accepts_a_good_commit_offline(initialised: Path, offline_env: dict[str, str]) -> None:
    done = commit(initialised, offline_env, "customers.yaml", GOOD_SOURCE)
    assert done.returncode == 0, done.stdout
    assert "bmad-gitops validate" in done.stdout and "Passed" in done.stdout
    assert git(initialised, "rev-list", "--count", "HEAD").stdout.strip() == "2"


# --- the pull-request workflow and the composite action


def step(document: dict[str, Any], name: str) -> dict[str, Any]:
    steps = document["runs"]["steps"] if "runs" in document else document["jobs"]["plan"]["steps"]
    (found,) = [s for s in steps if s.get("name") == name]
    result: dict[str, Any] = found
    return result


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    # The builtin schemas ship inside check-jsonschema: no download, so this runs offline.
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, *map(str, paths)], capture_output=True, text=True
    )


@pytest.mark.parametrize("options", [{}, {"hook_repo": "https://github.com/acme/bmad-gitops", "rev": "v1.2.3"}])
def test_generated_workflow_passes_githubs_schema(tmp_path: Path, options: dict[str, str]) -> None:
    init(tmp_path, **options)
    done = check_jsonschema("vendor.github-workflows", tmp_path / WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


def test_this_repositorys_workflows_and_action_pass_githubs_schemas() -> None:
    workflows = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
    assert workflows
    done = check_jsonschema("vendor.github-workflows", *workflows)
    assert done.returncode == 0, done.stdout + done.stderr
    done = check_jsonschema("vendor.github-actions", REPO / "action.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The schema test above means something: a step with both `uses` and `run` is refused."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: a/b@v1\n        run: x\n")
    assert check_jsonschema("vendor.github-workflows", broken).returncode != 0


def test_workflow_validates_plans_comments_and_fails_on_errors(tmp_path: Path) -> None:
    init(tmp_path)
    workflow = load(tmp_path / WORKFLOW)
    assert workflow["permissions"]["pull-requests"] == "write"
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as True
    assert step(workflow, "Install bmad-gitops")["run"] == f'pip install "bmad-gitops[live]=={__version__}"'
    assert step(workflow, "Validate")["run"] == "bmad-gitops validate --format github"
    plan = step(workflow, "Plan")["run"]
    assert "bmad-gitops plan --format markdown --detailed-exitcode" in plan
    assert "bmad-gitops plan --format github" in plan
    assert '>> "$GITHUB_STEP_SUMMARY"' in plan
    comment = step(workflow, "Comment the plan on the pull request")
    assert comment["uses"].startswith("actions/github-script@")
    assert MARKER in comment["with"]["script"]
    assert step(workflow, "Fail on plan errors")["if"] == (
        "steps.plan.outputs.exitcode != '0' && steps.plan.outputs.exitcode != '2'"
    )


def test_action_runs_the_same_plan_and_comment_as_the_workflow(tmp_path: Path) -> None:
    init(tmp_path)
    workflow, action = load(tmp_path / WORKFLOW), load(REPO / "action.yml")
    assert set(action["inputs"]) == {"python-version", "working-directory", "comment", "args"}
    assert action["runs"]["using"] == "composite"
    for name, key in (("Plan", "run"), ("Validate", "run"), ("Fail on plan errors", "run")):
        assert step(action, name)[key] == step(workflow, name)[key], name
    comment = "Comment the plan on the pull request"
    assert step(action, comment)["with"]["script"] == step(workflow, comment)["with"]["script"]
    assert step(action, comment)["if"].startswith("inputs.comment == 'true'")
    assert step(action, "Plan")["env"]["PLAN_ARGS"] == "${{ inputs.args }}"


FAKE_BMAD_GITOPS = """\
#!/usr/bin/env bash
echo "$*" >> "$CALLS"
case "$*" in
  *markdown*) [ -n "$PLAN_MARKDOWN" ] && echo "$PLAN_MARKDOWN"; exit "$PLAN_EXIT" ;;
  *github*) echo "::warning file=sources/a.yaml,line=1,col=1,title=drift::column gone"; exit "$PLAN_EXIT" ;;
esac
"""


def run_plan_step(tmp_path: Path, exit_code: int, markdown: str = "## Plan\n\n1 to change") -> dict[str, Any]:
    init(tmp_path)
    script = step(load(tmp_path / WORKFLOW), "Plan")["run"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "bmad-gitops"
    fake.write_text(FAKE_BMAD_GITOPS, encoding="utf-8")
    fake.chmod(0o755)
    files = {name: tmp_path / name for name in ("summary", "output", "calls")}
    for path in files.values():
        path.write_text("", encoding="utf-8")
    (tmp_path / "runner-temp").mkdir()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "GITHUB_OUTPUT": str(files["output"]),
        "CALLS": str(files["calls"]),
        "PLAN_EXIT": str(exit_code),
        "PLAN_MARKDOWN": markdown,
        "PLAN_ARGS": "--target customers",
    }
    # GitHub runs a bash `run:` as `bash --noprofile --norc -eo pipefail {0}`.
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    outputs = dict(line.split("=", 1) for line in files["output"].read_text(encoding="utf-8").splitlines())
    return {
        "returncode": done.returncode,
        "stdout": done.stdout,
        "outputs": outputs,
        "summary": files["summary"].read_text(encoding="utf-8"),
        "calls": files["calls"].read_text(encoding="utf-8").splitlines(),
    }


@pytest.mark.parametrize("exit_code", [0, 1, 2])
def test_plan_step_records_the_exit_code_and_writes_the_summary(tmp_path: Path, exit_code: int) -> None:
    result = run_plan_step(tmp_path, exit_code)
    assert result["returncode"] == 0  # the step never fails: the comment still goes out, the last step fails
    assert result["outputs"]["exitcode"] == str(exit_code)
    assert result["summary"] == "## Plan\n\n1 to change\n"
    assert Path(result["outputs"]["file"]).read_text(encoding="utf-8") == "## Plan\n\n1 to change\n"
    assert result["calls"] == [
        "plan --format markdown --detailed-exitcode --target customers",
        "plan --format github --target customers",
    ]
    assert "::warning file=sources/a.yaml" in result["stdout"]  # annotations reach the log


def test_plan_step_says_so_when_plan_prints_nothing(tmp_path: Path) -> None:
    result = run_plan_step(tmp_path, 1, markdown="")
    assert result["outputs"]["exitcode"] == "1"
    assert "bmad-gitops plan failed (exit 1)" in result["summary"]


COMMENT_HARNESS = """
const fs = require("fs");
const [scriptFile, stateFile] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
const calls = [];
const github = {
  paginate: async (method, params) => { calls.push(["list", params]); return state.comments; },
  rest: { issues: {
    listComments: "listComments",
    updateComment: async (params) => { calls.push(["update", params]); },
    createComment: async (params) => { calls.push(["create", params]); },
  } },
};
const context = { repo: { owner: "acme", repo: "data" }, issue: { number: 7 } };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction("github", "context", "require", fs.readFileSync(scriptFile, "utf8"))(github, context, require)
  .then(() => console.log(JSON.stringify(calls)));
"""


def run_comment_script(tmp_path: Path, comments: list[dict[str, Any]], plan: str) -> list[Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    init(tmp_path)
    script = step(load(tmp_path / WORKFLOW), "Comment the plan on the pull request")["with"]["script"]
    (tmp_path / "script.js").write_text(script, encoding="utf-8")
    (tmp_path / "harness.js").write_text(COMMENT_HARNESS, encoding="utf-8")
    (tmp_path / "state.json").write_text(json.dumps({"comments": comments}), encoding="utf-8")
    (tmp_path / "plan.md").write_text(plan, encoding="utf-8")
    done = subprocess.run(
        [node, "harness.js", "script.js", "state.json"],
        cwd=tmp_path,
        env={**os.environ, "PLAN_FILE": str(tmp_path / "plan.md")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    calls: list[Any] = json.loads(done.stdout)
    return calls


def test_first_plan_comment_is_created_with_the_marker(tmp_path: Path) -> None:
    calls = run_comment_script(tmp_path, [{"id": 1, "user": {"type": "User"}, "body": "looks good"}], "## Plan")
    assert calls[-1] == [
        "create",
        {"owner": "acme", "repo": "data", "issue_number": 7, "body": f"{MARKER}\n## Plan\n"},
    ]


def test_later_plans_update_the_one_comment(tmp_path: Path) -> None:
    comments = [
        {"id": 1, "user": {"type": "User"}, "body": f"quoting {MARKER}"},  # a person's comment is never edited
        {"id": 2, "user": {"type": "Bot"}, "body": f"{MARKER}\nold plan"},
    ]
    calls = run_comment_script(tmp_path, comments, f"{MARKER}\n## New plan\n")
    assert [c[0] for c in calls] == ["list", "update"]
    assert calls[-1][1] == {"owner": "acme", "repo": "data", "comment_id": 2, "body": f"{MARKER}\n## New plan\n"}


def test_a_huge_plan_is_cut_to_fit_a_comment(tmp_path: Path) -> None:
    calls = run_comment_script(tmp_path, [], "x" * 100_000)
    body = calls[-1][1]["body"]
    assert len(body) < 65_536 and body.startswith(MARKER) and "job summary" in body


def test_sharded_workflow_plans_in_a_matrix_and_merges_the_shares(tmp_path: Path) -> None:
    init(tmp_path, shards=3)
    done = check_jsonschema("vendor.github-workflows", tmp_path / WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = load(tmp_path / WORKFLOW)
    assert workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"] == [1, 2, 3]
    (share,) = [s for s in workflow["jobs"]["shard"]["steps"] if s.get("name") == "Plan share ${{ matrix.shard }} of 3"]
    assert '--shard "${{ matrix.shard }}/3"' in share["run"]
    plan = workflow["jobs"]["plan"]
    assert plan["needs"] == "shard"
    assert "bmad-gitops plan-merge shares/*.json --format markdown" in step(workflow, "Plan")["run"]
