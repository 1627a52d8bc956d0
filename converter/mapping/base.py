"""Building blocks shared by the study model, the mapping models and the algorithms.

- :class:`Strict`: pydantic base with unknown keys refused and a "did you mean" hint.
- :class:`ConfigProblems`: several located configuration problems raised as one ConfigError.
- :func:`problems_from_validation`: pydantic errors → located :class:`ConfigError` objects.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from converter.errors import ConfigError
from converter.mapping.yamlsafe import line_of


def suggest(word: str, choices: list[str] | set[str]) -> str | None:
    """A 'did you mean' hint, or None."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return None


class Strict(BaseModel):
    """Base of every configuration model: unknown keys are errors, with a hint."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=False)

    @model_validator(mode="before")
    @classmethod
    def _unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        allowed = set()
        for name, field in cls.model_fields.items():
            allowed.add(field.alias or name)
        unknown = [k for k in data if k not in allowed]
        if unknown:
            key = unknown[0]
            hint = suggest(key, allowed)
            expected = ", ".join(sorted(allowed))
            raise PydanticCustomError(
                "unknown_key", "unknown key '{key}'; expected one of: {expected}{hint}",
                {"key": key, "expected": expected, "hint": f" ({hint})" if hint else ""})
        return data


class ConfigProblems(ConfigError):
    """Several configuration problems; ``problems`` holds each as a located ConfigError."""

    def __init__(self, problems: list[ConfigError]):
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem(s); run 'check' to list all)" \
            if len(problems) > 1 else ""
        super().__init__(first.message + more, file=first.location.file,
                         line=first.location.line, key=first.location.key, hint=first.hint)


def raise_problems(problems: list[ConfigError]) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ConfigProblems(problems)


def problems_from_validation(exc: ValidationError, data: Any, lines: dict, file: str
                             ) -> list[ConfigError]:
    """Turn pydantic errors into located one-line ConfigErrors (file:line, key, value, hint)."""
    out: list[ConfigError] = []
    seen: set[tuple] = set()
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        ctx = err.get("ctx") or {}
        extra_key = ctx.get("key") if err["type"] == "unknown_key" else None
        line, path = line_of(lines, data, loc + ((extra_key,) if extra_key else ()))
        key = str(extra_key) if extra_key else ".".join(str(p) for p in path) or None
        msg = err["msg"]
        hint = None
        if err["type"] == "union_tag_invalid":
            tag = ctx.get("tag")
            expected = str(ctx.get("expected_tags", ""))
            names = [t.strip().strip("'") for t in expected.split(",")]
            hint = suggest(tag, names)
            msg = f"unknown algorithm '{tag}'; expected one of: {', '.join(sorted(names))}"
            key = ".".join(str(p) for p in path + ("algorithm",)) if path else "algorithm"
            line = lines.get(path + ("algorithm",), line)
        elif err["type"] == "union_tag_not_found":
            msg, hint, key = _no_tag(err, path)
        elif err["type"] == "missing":
            msg = f"missing required key '{loc[-1]}'"
            key = str(loc[-1])
        elif err["type"] == "unknown_key":
            msg = msg.replace(ctx.get("hint", "") or "\0", "") if ctx.get("hint") else msg
            hint = ctx.get("hint", "").strip(" ()") or None
        else:
            value = err.get("input")
            if not isinstance(value, (dict, list)) and value is not None:
                msg = f"{msg} (got {value!r})"
            msg = msg.removeprefix("Value error, ")
        ident = (line, key, msg)
        if ident in seen:
            continue
        seen.add(ident)
        out.append(ConfigError(msg, file=file, line=line, key=key, hint=hint))
    return out


def _no_tag(err: dict, path: tuple) -> tuple[str, str, str]:
    """A step without its ``algorithm`` key: name the unknown key(s), hint at 'algorithm'."""
    from converter.mapping.algorithms import REGISTRY  # loaded by now; avoids an import cycle

    tag = str((err.get("ctx") or {}).get("discriminator", "algorithm")).strip("'\"")
    names = ", ".join(sorted(REGISTRY))
    where = ".".join(str(p) for p in path)
    data = err.get("input")
    if not isinstance(data, dict):
        return (f"a step must be a mapping with an '{tag}' key (got {data!r})",
                f"algorithms: {names}", where or tag)
    known = {f.alias or n for spec in REGISTRY.values()
             for n, f in spec.params.model_fields.items()}
    unknown = [str(k) for k in data if k not in known]
    close = [k for k in unknown if suggest(k, [tag])]
    if close or unknown:
        bad = (close or unknown)[0]
        msg = f"step has no '{tag}' key; unknown key '{bad}'"
        hint = (f"did you mean '{tag}'? " if close else "") + f"algorithms: {names}"
        return msg, hint, f"{where}.{bad}" if where else bad
    return f"step has no '{tag}' key", f"add {tag}: <one of {names}>", where or tag
