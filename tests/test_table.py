"""CSV tables: exact cells, one-line errors naming the file, atomic writes never over an input."""

import math
import os

import pytest

import allora_ref.table
from allora_ref.table import (Table, format_number, parse_optional_number, read_table,
                              try_number, write_table_atomic)


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_line_error(path, *fragments):
    with pytest.raises(ValueError) as info:
        read_table(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message
    return message


# --- reading ------------------------------------------------------------------------------------

def test_read_keeps_the_exact_text_of_every_cell(tmp_path):
    path = write(tmp_path / "t.csv",
                 'epoch,loss,label\n301,1.10,"a, b"\n302,1e-3,\n303,-0.0,"two\nlines"\n')
    table = read_table(path)
    assert table.header == ("epoch", "loss", "label")
    assert table.rows == (("301", "1.10", "a, b"), ("302", "1e-3", ""),
                          ("303", "-0.0", "two\nlines"))
    assert table.keys == ("301", "302", "303")
    assert table.column("label") == 2


def test_column_unknown_name_is_an_error():
    with pytest.raises(ValueError, match="no column 'x'"):
        Table(("epoch",), ()).column("x")


def test_byte_order_mark_is_dropped(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfepoch,x\n1,2\n")
    assert read_table(path).header == ("epoch", "x")


def test_missing_file(tmp_path):
    assert_one_line_error(tmp_path / "nope.csv", "no such file")


def test_directory(tmp_path):
    assert_one_line_error(tmp_path, "cannot read", "directory")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("epoch,name\n1,caf\u00e9\n".encode("latin-1"))
    assert_one_line_error(path, "cannot read", "not UTF-8", "0xe9")


def test_no_permission(tmp_path, monkeypatch):
    path = write(tmp_path / "secret.csv", "epoch\n1\n")
    if os.geteuid() == 0:   # root reads files regardless of their permissions
        def refuse(file, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(file))
        monkeypatch.setattr(allora_ref.table, "open", refuse, raising=False)
    else:
        path.chmod(0)
    assert_one_line_error(path, "cannot read (permission denied)")


@pytest.mark.parametrize("text", ["", "\n"])
def test_empty_file(tmp_path, text):
    assert_one_line_error(write(tmp_path / "empty.csv", text), "empty file, no header")


def test_header_only_is_an_empty_table(tmp_path):
    assert read_table(write(tmp_path / "h.csv", "epoch,x\n")) == Table(("epoch", "x"), ())


@pytest.mark.parametrize("text, line, cells", [
    ("epoch,x\n1,2\n2,3,4\n", 3, 3),
    ("epoch,x\n1,2\n2\n", 3, 1),
    ('epoch,x\n1,"a\nb"\n2\n', 4, 1),   # a quoted cell spans lines 2-3
])
def test_ragged_row_names_its_line(tmp_path, text, line, cells):
    assert_one_line_error(write(tmp_path / "r.csv", text),
                          f"line {line} has {cells} cells, the header has 2")


def test_blank_lines_are_skipped_and_line_numbers_kept(tmp_path):
    table = read_table(write(tmp_path / "b.csv", "epoch,x\n1,2\n\n2,3\n\n"))
    assert table.rows == (("1", "2"), ("2", "3"))
    assert_one_line_error(write(tmp_path / "c.csv", "epoch,x\n\n1,2,3\n"),
                          "line 3 has 3 cells, the header has 2")


def test_duplicate_column(tmp_path):
    assert_one_line_error(write(tmp_path / "d.csv", "epoch,x,y,x\n"), "duplicate column 'x'")


def test_duplicate_key_uses_the_key_column_name(tmp_path):
    path = write(tmp_path / "k.csv", "epoch,x\n301,1\n302,2\n301,3\n")
    message = assert_one_line_error(path, "duplicate epoch 301 at line 4")
    assert "first at line 2" in message


# --- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, value", [
    ("1", 1.0), ("-2.5", -2.5), ("1e-3", 1e-3), (" 7 ", 7.0), ("1_000", 1000.0), ("-0.0", -0.0)])
def test_parse_accepts_what_float_accepts(cell, value):
    assert parse_optional_number(cell, "x", "1") == value


def test_parse_empty_cell_is_none():
    assert parse_optional_number("", "x", "1") is None


@pytest.mark.parametrize("cell", ["abc", "true", "nan", "NaN", "inf", "-Infinity", "1e999", " "])
def test_parse_rejects_non_numbers(cell):
    with pytest.raises(ValueError) as info:
        parse_optional_number(cell, "loss", "301")
    assert str(info.value) == f"non-numeric value {cell!r} in column loss, row 301"
    assert try_number(cell) is None


@pytest.mark.parametrize("x", [0.1, 1 / 3, -0.0, 5e-324, 1.7976931348623157e308, 3])
def test_format_number_round_trips_shortest(x):
    text = format_number(x)
    assert float(text) == x and text == repr(float(x))


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf])
def test_format_number_refuses_non_finite(x):
    with pytest.raises(ValueError, match="non-finite"):
        format_number(x)


# --- writing ------------------------------------------------------------------------------------

def test_write_then_read_is_exact(tmp_path):
    table = Table(("epoch", "loss", "note"),
                  (("301", "1.10", 'say "hi", twice'), ("302", "", "line\nbreak"),
                   ("303", format_number(0.1), "caf\u00e9")))
    path = tmp_path / "out.csv"
    write_table_atomic(path, table)
    assert read_table(path) == table
    assert path.read_bytes().startswith(b"epoch,loss,note\n301,1.10,")
    assert b"\r" not in path.read_bytes()
    assert os.listdir(tmp_path) == ["out.csv"]


def test_write_replaces_an_existing_output(tmp_path):
    path = write(tmp_path / "out.csv", "old\n")
    write_table_atomic(path, Table(("epoch",), (("1",),)))
    assert path.read_text() == "epoch\n1\n"


def test_written_file_gets_the_usual_permissions(tmp_path):
    path = tmp_path / "out.csv"
    write_table_atomic(path, Table(("epoch",), ()))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_refuses_to_write_over_an_input(tmp_path, monkeypatch):
    source = write(tmp_path / "in.csv", "epoch\n1\n")
    (tmp_path / "sub").mkdir()
    os.symlink(source, tmp_path / "link.csv")
    os.link(source, tmp_path / "hard.csv")
    monkeypatch.chdir(tmp_path / "sub")
    table = Table(("epoch",), (("2",),))
    for target, inputs in [(source, [source]),
                           (tmp_path / "link.csv", [source]),   # a symlink to the input
                           ("../in.csv", [source]),             # a different relative path
                           (source, ["../link.csv"]),
                           (tmp_path / "hard.csv", [source])]:  # a hard link
        with pytest.raises(ValueError, match="refusing to write over input file"):
            write_table_atomic(target, table, inputs=[tmp_path / "other.csv", *inputs])
    assert source.read_text() == "epoch\n1\n"
    assert sorted(os.listdir(tmp_path)) == ["hard.csv", "in.csv", "link.csv", "sub"]


def test_failed_write_leaves_no_temporary_file(tmp_path):
    path = write(tmp_path / "out.csv", "old\n")
    bad = Table(("epoch",), (("1",), 2))    # not a row of strings: the csv writer fails
    with pytest.raises(Exception):
        write_table_atomic(path, bad)
    assert os.listdir(tmp_path) == ["out.csv"]
    assert path.read_text() == "old\n"


def test_write_into_a_missing_directory_is_a_one_line_error(tmp_path):
    path = tmp_path / "missing" / "out.csv"
    with pytest.raises(ValueError, match=r"out\.csv: cannot write \(no such file or directory\)"):
        write_table_atomic(path, Table(("epoch",), ()))
