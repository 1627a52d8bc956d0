"""The rule catalogue page, generated from the rule YAML files.

    python -m converter.validate.catalogue               # print the catalogue (Markdown)
    python -m converter.validate.catalogue --write docs/validation.md   # refresh the page
    python -m converter.validate.catalogue --check docs/validation.md   # exit 1 when stale

The catalogue sits in the page between ``<!-- catalogue:start -->`` and
``<!-- catalogue:end -->``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from converter.validate.rules import Rule, load_rules

START = "<!-- catalogue:start -->"
END = "<!-- catalogue:end -->"


def _scope(rule: Rule) -> str:
    sc = rule.scope
    parts = []
    if rule.level == "study":
        parts.append("study")
    if sc.standard != "any":
        parts.append(sc.standard)
    if sc.datasets:
        parts.append(", ".join(sc.datasets))
    if sc.classes:
        parts.append("classes " + ", ".join(c.title() for c in sc.classes))
    if sc.exclude_datasets or sc.exclude_classes:
        parts.append("not " + ", ".join(sc.exclude_datasets + [c.title()
                                                               for c in sc.exclude_classes]))
    if sc.requires:
        parts.append("needs " + ", ".join(sc.requires))
    return "; ".join(parts) or "all datasets"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_catalogue(rules: list[Rule] | None = None) -> str:
    """The catalogue as a Markdown table, one row per rule, in catalogue order."""
    rules = load_rules() if rules is None else rules
    lines = [f"{len(rules)} rules.", "",
             "| id | severity | scope | checks | operator | authority | P21 |",
             "|---|---|---|---|---|---|---|"]
    for r in rules:
        lines.append("| " + " | ".join(_cell(x) for x in (
            f"`{r.id}`", r.severity, _scope(r), r.title, f"`{r.operator}`", r.authority,
            ", ".join(r.p21))) + " |")
    lines += ["", "### Operators", "", render_operators()]
    return "\n".join(lines)


def render_operators() -> str:
    """The operators rules can name, with their parameters and what they check."""
    import inspect

    from converter.validate.operators import OPERATORS, parameters

    lines = ["| operator | parameters | checks |", "|---|---|---|"]
    for name in sorted(OPERATORS):
        params = ", ".join(
            p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
            for p in parameters(name).values())
        doc = " ".join((inspect.getdoc(OPERATORS[name]) or "").split("\n\n")[0].split())
        lines.append(f"| `{name}` | {_cell(params)} | {_cell(doc)} |")
    return "\n".join(lines) + "\n"


def with_catalogue(page: str, catalogue: str) -> str:
    if START not in page or END not in page:
        raise ValueError(f"page lacks the markers {START} / {END}")
    head, rest = page.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{catalogue}{END}{tail}"


def main(argv: list[str]) -> int:
    catalogue = render_catalogue()
    if len(argv) == 2 and argv[0] in ("--write", "--check"):
        path = Path(argv[1])
        page = path.read_text(encoding="utf-8")
        fresh = with_catalogue(page, catalogue)
        if argv[0] == "--check":
            if fresh != page:
                print(f"{path}: rule catalogue is out of date; run "
                      f"python -m converter.validate.catalogue --write {path}", file=sys.stderr)
                return 1
            return 0
        path.write_text(fresh, encoding="utf-8")
        return 0
    sys.stdout.write(catalogue)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
