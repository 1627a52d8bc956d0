"""The rule catalogue page is generated from the rule files and must be current."""

from __future__ import annotations

from converter.validate import load_rules
from converter.validate.catalogue import render_catalogue, with_catalogue


def test_catalogue_page_is_current(repo_root):
    page = (repo_root / "docs" / "validation.md").read_text(encoding="utf-8")
    assert with_catalogue(page, render_catalogue()) == page, (
        "run: python -m converter.validate.catalogue --write docs/validation.md")


def test_catalogue_lists_every_rule_once():
    text = render_catalogue()
    for rule in load_rules():
        assert text.count(f"`{rule.id}`") == 1


def test_every_rule_names_its_authority_and_a_message():
    for rule in load_rules():
        assert rule.authority.strip() and rule.message.strip() and rule.title.strip()
