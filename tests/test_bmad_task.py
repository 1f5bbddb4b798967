"""`init --bmad` installs a BMad v4 task, agent and pack config and a v6 skill; every command the task names
works, run in order in a fresh project (real git, real PyAirbyte on the sample file)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bmad_gitops.scaffold import BMAD_FILES, init_repository

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "bmad-gitops"


def test_init_bmad_writes_the_v4_pack_and_the_v6_skill(tmp_path: Path) -> None:
    lines = list(init_repository(tmp_path, bmad=True))
    for target in BMAD_FILES:
        assert (tmp_path / target).is_file(), target
        assert f"created {target}" in lines
    config = yaml.safe_load((tmp_path / ".bmad-data-sources" / "config.yaml").read_text(encoding="utf-8"))
    assert config["name"] == "bmad-data-sources" and config["slashPrefix"]
    agent = (tmp_path / ".bmad-data-sources" / "agents" / "data-engineer.md").read_text(encoding="utf-8")
    block = yaml.safe_load(agent.split("```yaml", 1)[1].split("```", 1)[0])
    assert block["dependencies"]["tasks"] == ["data-source-discovery.md"]
    skill = (tmp_path / "_bmad" / "bmad-gitops" / "skills" / "data-source-discovery" / "SKILL.md").read_text()
    front = yaml.safe_load(skill.split("---", 2)[1])
    assert front["name"] == "data-source-discovery" and "bmad-gitops" in front["description"]
    assert list(init_repository(tmp_path, bmad=True))[:1] != lines[:1]  # a second run keeps what is there


@pytest.mark.live
def test_every_command_the_task_names_works_in_a_fresh_project(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    list(init_repository(tmp_path, bmad=True))
    (tmp_path / "data").mkdir()
    shutil.copy(REPO / "data" / "customers.csv", tmp_path / "data" / "customers.csv")
    task = (tmp_path / ".bmad-data-sources" / "tasks" / "data-source-discovery.md").read_text(encoding="utf-8")
    commands = [
        line.strip()
        for block in re.findall(r"```sh\n(.*?)```", task, re.S)
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert len(commands) >= 7 and any(c.startswith("bmad-gitops apply") for c in commands)
    env = {"PATH": f"{BIN.parent}:/usr/bin:/bin", "HOME": str(Path.home()), "NO_COLOR": "1", "OPENLINEAGE_DISABLED": "true"}
    for command in commands:
        done = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
    assert (tmp_path / "state" / "customers.json").is_file()
