"""Hostile XML (issue 6 item 2): external entities (XXE), entity-expansion bombs, DTD and
network fetches. Each attack must fail fast with a located error, and the secret file's contents
must never appear in any result, message or output."""

from __future__ import annotations

import socket
import time
import zipfile

import openpyxl
import pytest

from converter.errors import InputError
from converter.io.readers import read_odm, read_raw
from converter.io.safe_xml import parse_bytes, parse_file, safe_iterparse, safe_parser
from converter.issues import IssueLog

SECRET = "TOP-SECRET-4f9c2e"
NS = "http://www.cdisc.org/ns/odm/v1.3"


@pytest.fixture
def secret(tmp_path):
    p = tmp_path / "secret.txt"
    p.write_text(SECRET)
    return p


def odm_with(doctype: str, value: str) -> bytes:
    return (f'<?xml version="1.0"?>\n{doctype}\n<ODM xmlns="{NS}"><ClinicalData StudyOID="S" '
            f'MetaDataVersionOID="M"><SubjectData SubjectKey="1"><StudyEventData '
            f'StudyEventOID="SE"><FormData FormOID="F"><ItemGroupData ItemGroupOID="IG">'
            f'<ItemDataString ItemOID="I">{value}</ItemDataString></ItemGroupData></FormData>'
            f"</StudyEventData></SubjectData></ClinicalData></ODM>").encode()


def xxe_doctype(secret) -> str:
    return f'<!DOCTYPE ODM [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'


BOMB = ('<!DOCTYPE ODM [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                  for i in range(9))
        + "]>")   # &j; expands to 10**9 copies of &a;


def everything_in(result) -> str:
    """All text reachable from a reader result (frames and issue log)."""
    frames, log = result
    parts = [f.to_csv() for f in frames.values()]
    parts.append(log.to_frame().to_csv())
    return "\n".join(parts)


def test_odm_xxe_refused_and_secret_never_read(tmp_path, secret):
    path = tmp_path / "sd.xml"
    path.write_bytes(odm_with(xxe_doctype(secret), "&xxe;"))
    log = IssueLog()
    with pytest.raises(InputError) as info:
        read_odm(path, issues=log)
    message = info.value.one_line()
    assert message.startswith("sd.xml:1: the document declares XML entities")
    assert SECRET not in message and SECRET not in log.to_frame().to_csv()


def test_parser_never_expands_even_if_entities_were_accepted(secret):
    """Below the refusal: the parser itself leaves the entity unexpanded (defence in depth)."""
    from lxml import etree
    root = etree.fromstring(odm_with(xxe_doctype(secret), "&xxe;"), parser=safe_parser())
    assert SECRET not in etree.tostring(root).decode()
    assert SECRET not in "".join(root.itertext())


@pytest.mark.parametrize("attack", ["bomb", "parameter-entity"])
def test_entity_bomb_and_parameter_entities_fail_fast(tmp_path, secret, attack):
    doctype = BOMB if attack == "bomb" else (
        f'<!DOCTYPE ODM [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]>')
    path = tmp_path / "sd.xml"
    path.write_bytes(odm_with(doctype, "&j;" if attack == "bomb" else "x"))
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        read_odm(path, issues=IssueLog())
    assert time.perf_counter() - start < 2.0
    assert "sd.xml:" in info.value.one_line() and SECRET not in info.value.one_line()


def test_safe_helpers_refuse_entities(tmp_path, secret):
    data = odm_with(xxe_doctype(secret), "&xxe;")
    with pytest.raises(InputError, match="declares XML entities"):
        parse_bytes(data, name="x.xml")
    path = tmp_path / "x.xml"
    path.write_bytes(data)
    with pytest.raises(InputError, match="declares XML entities"):
        parse_file(path)
    with pytest.raises(InputError, match="declares XML entities"):
        list(safe_iterparse(path))
    with pytest.raises(ValueError, match="refuses to override"):
        safe_parser(resolve_entities=True)


def test_external_dtd_and_network_never_fetched(tmp_path):
    """A DOCTYPE pointing at a DTD on a local server: no connection is ever made."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.3)
    port = server.getsockname()[1]
    try:
        doctype = f'<!DOCTYPE ODM SYSTEM "http://127.0.0.1:{port}/odm.dtd">'
        path = tmp_path / "sd.xml"
        path.write_bytes(odm_with(doctype, "plain"))
        frames = read_odm(path, issues=IssueLog())
        assert frames["IG"]["I"].tolist() == ["plain"]
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()


def test_xlsx_with_xxe_in_sheet_xml(tmp_path, secret):
    """XLSX parts are XML too: an entity in a worksheet must not pull in a local file."""
    good = tmp_path / "good.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["TERM"])
    wb.active.append(["headache"])
    wb.save(good)
    bad = tmp_path / "ae.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = text.replace("?>", "?>" + xxe_doctype(secret), 1) if "?>" in text \
                    else xxe_doctype(secret) + text
                text = text.replace("<v>", "<v>&xxe;", 1) if "<v>" in text else text
                text = text.replace('t="s"', 't="inlineStr"', 1)
                data = text.encode()
            zout.writestr(item, data)
    with pytest.raises(InputError) as info:
        read_raw(bad)
    assert info.value.one_line().startswith("ae.xlsx")
    assert "\n" not in info.value.one_line()
    assert SECRET not in info.value.one_line()


def test_define_check_does_not_expand_entities(tmp_path, secret, shared):
    """define-check (define engineer's reader) on a define with an XXE payload in a text node."""
    from converter.define.check import check_define
    example = next((shared / "schemas" / "define-2.1").rglob("define*.xml"))
    text = example.read_text(encoding="utf-8")
    assert "<TranslatedText" in text
    text = text.replace("?>", "?>" + xxe_doctype(secret), 1)
    head, tail = text.split("<TranslatedText", 1)
    tag_end = tail.index(">") + 1
    text = head + "<TranslatedText" + tail[:tag_end] + "&xxe;" + tail[tag_end:]
    path = tmp_path / "define.xml"
    path.write_text(text, encoding="utf-8")
    problems = check_define(path)
    assert SECRET not in "\n".join(problems)
    assert any("DOCTYPE" in p for p in problems)
