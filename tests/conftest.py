"""Fixtures for testing the template: render it into temporary folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from render import copy_template, git, render


@pytest.fixture(autouse=True)
def isolated_cookiecutter_home(tmp_path, monkeypatch):
    """Keep cookiecutter's replay files and clones out of the real home folder."""
    config = tmp_path / "cookiecutter-config.yaml"
    config.write_text(
        f"replay_dir: {json.dumps(str(tmp_path / 'replay'))}\n"
        f"cookiecutters_dir: {json.dumps(str(tmp_path / 'clones'))}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(config))


@pytest.fixture
def output_dir(tmp_path) -> Path:
    """An empty folder to render into."""
    folder = tmp_path / "output"
    folder.mkdir()
    return folder


@pytest.fixture(scope="session")
def default_project(tmp_path_factory) -> Path:
    """The template rendered once with its default answers."""
    return render(tmp_path_factory.mktemp("default"))


@pytest.fixture
def template_repository(tmp_path):
    """The template as a git repository, which cruft needs to record a commit."""
    repository = copy_template(tmp_path / "template")
    git("init", "-q", cwd=repository)
    git("add", "-A", cwd=repository)
    git("commit", "-q", "-m", "template", cwd=repository)
    return repository
