"""define-check: CDISC examples pass; broken copies fail with every problem located; exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.cli import main
from converter.define.check import check_define, check_define_problems, find_schemas
from converter.errors import ConfigError, InputError


def examples(shared: Path) -> list[Path]:
    found = sorted((shared / "schemas/define-2.1/cdisc-2019/examples").rglob("*.xml"))
    assert len(found) == 2
    return found


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture()
def run_cli(capsys, monkeypatch):
    """Run ``define-check`` in-process through the real entry point (exit code included)."""
    def run(*args: str, env: dict | None = None) -> Result:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(["define-check", *args])
        out = capsys.readouterr()
        for key in env or {}:
            monkeypatch.delenv(key)
        # rich folds long lines: join them so located names can be searched
        return Result(exc.value.code, out.out, out.err.replace("\n", ""))
    return run


def _line_of(text: str, needle: str) -> int:
    index = text.index(needle)
    return text.count("\n", 0, index) + 1


def test_cdisc_examples_pass_with_shared_and_default_schemas(shared, run_cli):
    for path in examples(shared):
        assert check_define(path, shared / "schemas/define-2.1/schema") == [], path.name
        assert check_define(path) == [], path.name   # odmlib's bundled schemas
    proc = run_cli(*map(str, examples(shared)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_default_schema_source_is_odmlib():
    source = find_schemas()
    assert source.origin == "odmlib"
    assert source.define_xsd.name == "define2-1-0.xsd"
    assert source.arm_xsd is not None and "2.1" in str(source.arm_xsd)


@pytest.fixture()
def broken(shared, tmp_path) -> tuple[Path, str]:
    """The SDTM example with an undefined OID, a repeated OrderNumber, a wrong element order,
    a KeySequence gap and a duplicated OID."""
    src = examples(shared)[1] if "SDTM" in examples(shared)[1].name else examples(shared)[0]
    text = src.read_text(encoding="utf-8")
    edits = [
        # undefined ItemOID (and so IT.DM.SITEID becomes an orphan) + repeated OrderNumber 6
        ('<ItemRef ItemOID="IT.DM.SITEID" Mandatory="Yes" OrderNumber="7"/>',
         '<ItemRef ItemOID="IT.DM.NOSUCH" Mandatory="Yes" OrderNumber="6"/>'),
        # wrong element order: def:Class before the last ItemRef of TS
        (('        <ItemRef ItemOID="IT.TS.TSVAL" Mandatory="Yes" OrderNumber="6"/>\n'
          '        <def:Class Name="TRIAL DESIGN"/>'),
         ('        <def:Class Name="TRIAL DESIGN"/>\n'
          '        <ItemRef ItemOID="IT.TS.TSVAL" Mandatory="Yes" OrderNumber="6"/>')),
        # KeySequence 1, 2, 5 in TS
        ('<ItemRef ItemOID="IT.TS.TSSEQ" Mandatory="Yes" OrderNumber="3" KeySequence="3"',
         '<ItemRef ItemOID="IT.TS.TSSEQ" Mandatory="Yes" OrderNumber="3" KeySequence="5"'),
        # undefined codelist
        ('<CodeListRef CodeListOID="CL.ISO.COUNTRY"/>', '<CodeListRef CodeListOID="CL.GONE"/>'),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "broken-define.xml"
    path.write_text(text, encoding="utf-8")
    return path, text


def test_broken_copy_reports_every_problem_located(broken, run_cli):
    path, text = broken
    problems = check_define_problems(path)
    got = {(p.line, p.rule) for p in problems}
    nosuch = _line_of(text, 'ItemOID="IT.DM.NOSUCH"')
    expected = {
        (nosuch, "DEF.REF.UNDEFINED"),
        (nosuch, "DEF.ORDER.DUPLICATE"),
        (_line_of(text, '<ItemRef ItemOID="IT.TS.TSVAL"'), "DEF.SCHEMA"),
        (_line_of(text, '<ItemGroupDef OID="IG.TS"'), "DEF.KEY.SEQUENCE"),
        (_line_of(text, '<ItemDef OID="IT.DM.SITEID"'), "DEF.OID.ORPHAN"),
        (_line_of(text, 'CodeListOID="CL.GONE"'), "DEF.REF.UNDEFINED"),
        (_line_of(text, '<CodeList OID="CL.ISO.COUNTRY"'), "DEF.OID.ORPHAN"),
    }
    assert expected <= got, sorted(got)
    messages = check_define(path)
    assert all(m.startswith(f"{path}:") for m in messages)
    assert any("IT.DM.NOSUCH" in m and "refers to no ItemDef" in m for m in messages)
    assert any("OrderNumber 6" in m for m in messages)
    assert any("KeySequence values [1, 2, 5]" in m for m in messages)
    proc = run_cli(str(path))
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == messages


def test_duplicate_oid_and_vlm_without_where_clause(shared, tmp_path):
    src = next(p for p in examples(shared) if "SDTM" in p.name)
    text = src.read_text(encoding="utf-8")
    dup = '<def:CommentDef OID="COM.DOMAIN.DI">'
    text = text.replace(dup, '<def:CommentDef OID="COM.DOMAIN.DM">', 1)
    old = ('<ItemRef ItemOID="IT.SUPPDM.QVAL.RAND" OrderNumber="5" Mandatory="No"\n'
           '         Role="Record Qualifier">\n'
           '          <def:WhereClauseRef WhereClauseOID="WC.SUPPDM.QNAM.RAND"/>\n'
           '        </ItemRef>')
    assert old in text
    text = text.replace(old, '<ItemRef ItemOID="IT.SUPPDM.QVAL.RAND" OrderNumber="5" '
                             'Mandatory="No" Role="Record Qualifier"/>')
    path = tmp_path / "d.xml"
    path.write_text(text, encoding="utf-8")
    rules = {p.rule for p in check_define_problems(path)}
    assert {"DEF.OID.DUPLICATE", "DEF.VLM.WHERE", "DEF.REF.UNDEFINED",
            "DEF.OID.ORPHAN"} <= rules


def test_not_well_formed_xml_is_a_located_problem(tmp_path, run_cli):
    path = tmp_path / "bad.xml"
    path.write_text('<?xml version="1.0"?>\n<ODM>\n  <Study>\n</ODM>\n', encoding="utf-8")
    problems = check_define_problems(path)
    assert problems and all(p.rule == "DEF.XML.SYNTAX" for p in problems)
    assert problems[0].line == 4
    assert run_cli(str(path)).returncode == 1


def test_syntax_lines_are_this_files_after_earlier_failed_parses(tmp_path):
    # lxml keeps a thread-wide error log: a failed parse of another document earlier in the
    # same thread must not leak its line numbers into this file's problems
    from lxml import etree

    from converter.io.safe_xml import safe_parser
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(b"<a>\n\n\n\n\n\n<b></a>", safe_parser())
    path = tmp_path / "bad.xml"
    path.write_text('<?xml version="1.0"?>\n<ODM>\n  <Study>\n</ODM>\n', encoding="utf-8")
    problems = check_define_problems(path)
    assert [p.line for p in problems] == [4]


def test_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    path = tmp_path / "xxe.xml"
    path.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE ODM [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
                    '\n<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3">&x;</ODM>\n',
                    encoding="utf-8")
    messages = check_define(path)
    assert any("DEF.XML.DOCTYPE" in m for m in messages)
    assert not any("TOP-SECRET-VALUE" in m for m in messages)


def test_cannot_run_exits_2(tmp_path, shared, run_cli):
    example = str(examples(shared)[0])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError):
        check_define(example, empty)
    proc = run_cli(example, "--schema-dir", str(empty))
    assert proc.returncode == 2 and "define2-1-0.xsd" in proc.stderr
    proc = run_cli(example, env={"CONVERTER_DEFINE_SCHEMAS": str(empty)})
    assert proc.returncode == 2 and "CONVERTER_DEFINE_SCHEMAS" in proc.stderr
    with pytest.raises(InputError):
        check_define(tmp_path / "missing.xml")
    proc = run_cli(str(tmp_path / "missing.xml"))
    assert proc.returncode == 2 and "missing.xml" in proc.stderr
    # a folder with an incomplete schema set cannot run either
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "define2-1-0.xsd").write_text(
        (shared / "schemas/define-2.1/schema/cdisc-define-2.1/define2-1-0.xsd").read_text())
    proc = run_cli(example, "--schema-dir", str(partial))
    assert proc.returncode == 2, proc.stderr


def test_schema_dir_accepts_cdisc_layout(shared):
    source = find_schemas(shared / "schemas/define-2.1")
    assert source.define_xsd.parent.name == "cdisc-define-2.1"
    assert source.arm_xsd is not None and source.arm_xsd.parent.name == "cdisc-arm-1.0"


def test_define_2_0_document_is_named_as_such(shared):
    problems = check_define_problems(shared / "reference/cdisc-pilot/define-2.0/sdtm-define.xml")
    assert problems[0].rule == "DEF.VERSION" and "2.0" in problems[0].message
    assert any(p.rule == "DEF.SCHEMA" for p in problems)
