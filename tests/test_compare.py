"""compare_tables: the tolerance rule, skips, exclusions, one-sided rows/columns, the report."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared import examples

from allora_ref.compare import column_family, compare_tables
from allora_ref.table import Table, format_number, read_table


def table(text: str) -> Table:
    lines = [line.split(",") for line in text.strip().splitlines()]
    return Table(tuple(lines[0]), tuple(tuple(row) for row in lines[1:]))


def totals(comparison):
    return comparison.passed, comparison.failed, comparison.skipped


# --- the cell rule ------------------------------------------------------------------------------

@pytest.mark.parametrize("expected, actual, rtol, atol", [
    ("1.0", "1.5", 0.0, 0.5),       # |a - e| == atol exactly
    ("2.0", "2.5", 0.25, 0.0),      # |a - e| == rtol * |e| exactly
    ("-2.0", "-3.0", 0.25, 0.5),    # |a - e| == atol + rtol * |e| exactly
])
def test_tolerance_boundary_passes_and_just_above_fails(expected, actual, rtol, atol):
    just_above = repr(float(actual) + (float(actual) - float(expected)) * 1e-15)
    at = compare_tables(table(f"k,x\n1,{expected}"), table(f"k,x\n1,{actual}"), rtol, atol)
    above = compare_tables(table(f"k,x\n1,{expected}"), table(f"k,x\n1,{just_above}"),
                           rtol, atol)
    assert totals(at) == (1, 0, 0)
    assert totals(above) == (0, 1, 0)


def test_numbers_compare_as_numbers_not_text():
    assert totals(compare_tables(table("k,x\n1,1.10"), table("k,x\n1,1.1e0"), 0, 0)) == (1, 0, 0)


def test_default_tolerance_is_rtol_1e_9():
    assert compare_tables(table("k,x\n1,1"), table("k,x\n1,1.0000000009")).failed == 0
    assert compare_tables(table("k,x\n1,1"), table("k,x\n1,1.0000000011")).failed == 1


def test_empty_actual_is_skipped_and_empty_expected_with_actual_fails():
    comparison = compare_tables(table("k,x,y\n1,5,\n2,,7\n3,,"), table("k,x,y\n1,,\n2,,\n3,,"))
    assert totals(comparison) == (0, 0, 6)
    comparison = compare_tables(table("k,x\n1,"), table("k,x\n1,0"))
    assert totals(comparison) == (0, 1, 0)
    assert comparison.families[0].max_abs_error == float("inf")


def test_non_numeric_cells_compare_as_text():
    expected = table("k,flag,name\n1,true,alice\n2,false,bob")
    actual = table("k,flag,name\n1,true,alice\n2,False,bob")
    comparison = compare_tables(expected, actual)
    assert totals(comparison) == (3, 1, 0)
    assert totals(compare_tables(table("k,x\n1,1"), table("k,x\n1,true"))) == (0, 1, 0)


def test_excluded_columns_are_ignored_entirely():
    expected = table("k,loss_1,loss_2,time,extra\n1,1,2,10,0")
    actual = table("k,loss_1,loss_2,time,other\n1,1,9,99,0")
    comparison = compare_tables(expected, actual, exclude=["loss_2", "t*", "extra", "other"])
    assert totals(comparison) == (1, 0, 0)
    assert comparison.columns_only_in_expected == comparison.columns_only_in_actual == ()
    assert not any("only in" in line or "time" in line for line in comparison.lines())


def test_rows_and_columns_in_one_file_only_are_listed_not_counted():
    expected = table("epoch,a,b\n1,1,1\n2,1,1\n3,1,1")
    actual = table("epoch,a,c\n2,1,5\n3,9,5\n4,1,5")
    comparison = compare_tables(expected, actual)
    assert totals(comparison) == (1, 1, 0)
    assert comparison.columns_only_in_expected == ("b",)
    assert comparison.columns_only_in_actual == ("c",)
    assert comparison.rows_only_in_expected == ("1",)
    assert comparison.rows_only_in_actual == ("4",)
    assert comparison.lines()[-5:] == [
        "1 columns only in expected: b",
        "1 columns only in actual: c",
        "1 rows (epoch) only in expected: 1",
        "1 rows (epoch) only in actual: 4",
        "1 passed, 1 failed, 0 skipped",
    ]


def test_long_lists_of_missing_rows_are_abbreviated():
    expected = table("k,x\n" + "\n".join(f"{i},1" for i in range(25)))
    line = compare_tables(expected, table("k,x")).lines()[-3]
    assert line == "25 rows (k) only in expected: " + ", ".join(map(str, range(10))) + ", ..."


def test_columns_match_by_name_in_any_order():
    expected = table("k,a,b\n1,1,2")
    actual = table("k,b,a\n1,2,1")
    assert totals(compare_tables(expected, actual)) == (2, 0, 0)


def test_different_key_columns_are_refused():
    with pytest.raises(ValueError, match="key columns differ: 'epoch'"):
        compare_tables(table("epoch,x\n1,1"), table("block,x\n1,1"))


@pytest.mark.parametrize("option, value", [
    ("rtol", -1e-9), ("rtol", float("nan")), ("atol", float("inf")), ("atol", -1.0)])
def test_tolerances_must_be_finite_and_non_negative(option, value):
    with pytest.raises(ValueError, match=f"--{option} must be a finite number >= 0"):
        compare_tables(table("k,x\n1,1"), table("k,x\n1,1"), **{option: value})


# --- families and the report --------------------------------------------------------------------

@pytest.mark.parametrize("name, family", [
    ("reputer_3_loss_inference_4", "reputer_*_loss_inference_*"),
    ("inferer_12", "inferer_*"), ("loss", "loss"), ("x1y22z", "x*y*z"), ("42", "*")])
def test_column_family(name, family):
    assert column_family(name) == family


def test_report_groups_families_in_order_of_first_appearance():
    expected = table("epoch,w_1,net,w_2,w_10\n"
                     "301,1.0,5,2.0,3.0\n"
                     "302,1.0,5,2.0,3.0")
    actual = table("epoch,w_1,net,w_2,w_10\n"
                   "301,1.0,5,2.0,3.0\n"
                   "302,1.1,5,2.0,")
    comparison = compare_tables(expected, actual, rtol=0.01)
    w, net = comparison.families
    assert (w.name, w.passed, w.failed, w.skipped) == ("w_*", 4, 1, 1)
    assert (net.name, net.passed, net.failed, net.skipped) == ("net", 2, 0, 0)
    assert (w.worst_column, w.worst_key) == ("w_1", "302")
    assert w.max_abs_error == pytest.approx(0.1) and w.max_rel_error == pytest.approx(0.1)
    assert comparison.lines() == [
        "family  passed  failed  skipped  max_abs  max_rel  worst",
        "w_*          4       1        1      0.1      0.1  w_1 at epoch 302",
        "net          2       0        0        0        0  -",
        "6 passed, 1 failed, 1 skipped",
    ]


def test_worst_cell_prefers_a_failure_over_a_larger_passing_relative_error():
    expected = table("k,x\n1,0\n2,100")
    actual = table("k,x\n1,1e-12\n2,101")       # row 1: rel error inf, within atol
    family, = compare_tables(expected, actual, atol=1e-9).families
    assert (family.failed, family.worst_key, family.max_rel_error) == (1, "2", float("inf"))


@pytest.mark.parametrize("actual", ["", "1"])
def test_family_with_only_skipped_or_exact_cells_has_no_worst_cell(actual):
    family, = compare_tables(table("k,x\n1,1"), table(f"k,x\n1,{actual}")).families
    assert family.worst_column is None


def test_a_comparison_of_nothing_fails_and_says_why():
    comparison = compare_tables(table("k,a\n1,1"), table("k,b\n1,1"))
    assert comparison.lines() == [
        "1 columns only in expected: a", "1 columns only in actual: b",
        "nothing was compared: the tables have no column in common (besides the key)",
        "0 passed, 0 failed, 0 skipped"]
    assert not comparison.ok
    assert compare_tables(table("k,a\n1,1"), table("k,a\n2,1")).lines()[-2] == \
        "nothing was compared: the tables have no row (k) in common"
    empty = compare_tables(table("k,a,b\n1,1,2\n2,3,4"), table("k,a,b\n1,,\n2,,"))
    assert empty.lines()[-2:] == [
        "nothing was compared: every cell of the actual table in the common rows and columns "
        "is empty", "0 passed, 0 failed, 4 skipped"]
    assert not empty.ok and compare_tables(table("k,a\n1,1"), table("k,a\n1,1")).ok


def test_compare_files_read_from_disk(tmp_path):
    (tmp_path / "e.csv").write_text("epoch,x\n301,1.10\n")
    (tmp_path / "a.csv").write_text("epoch,x\n301,1.1\n")
    comparison = compare_tables(read_table(tmp_path / "e.csv"), read_table(tmp_path / "a.csv"))
    assert comparison.lines()[-1] == "1 passed, 0 failed, 0 skipped"


# --- properties ---------------------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
cells = st.one_of(finite.map(format_number), st.just(""), st.sampled_from(["true", "false", "x"]))


@st.composite
def tables(draw):
    columns = draw(st.lists(st.from_regex(r"[a-z]{1,3}(_[0-9]{1,2})?", fullmatch=True),
                            min_size=1, max_size=5, unique=True))
    keys = draw(st.lists(st.integers(0, 10**6).map(str), min_size=1, max_size=8, unique=True))
    rows = tuple((key, *(draw(cells) for _ in columns)) for key in keys)
    return Table(("epoch", *columns), rows)


@examples(200)
@given(tables())
def test_a_table_equals_itself(t):
    comparison = compare_tables(t, t, rtol=0.0, atol=0.0)
    filled = sum(cell != "" for row in t.rows for cell in row[1:])
    assert totals(comparison) == (filled, 0, len(t.rows) * (len(t.header) - 1) - filled)
    assert comparison.lines()[-1] == f"{filled} passed, 0 failed, {comparison.skipped} skipped"
    assert re.fullmatch(r"\d+ passed, \d+ failed, \d+ skipped", comparison.lines()[-1])


@examples(200)
@given(tables(), finite, st.floats(0, 0.1), st.floats(0, 0.1), st.data())
def test_perturbing_one_number_beyond_the_tolerance_fails_exactly_that_cell(
        t, value, rtol, atol, data):
    row = data.draw(st.integers(0, len(t.rows) - 1))
    column = data.draw(st.integers(1, len(t.header) - 1))
    step = max(1.0, 4 * (atol + rtol * abs(value)))

    def with_cell(text):
        rows = list(t.rows)
        rows[row] = rows[row][:column] + (text,) + rows[row][column + 1:]
        return Table(t.header, tuple(rows))

    comparison = compare_tables(with_cell(format_number(value)),
                                with_cell(format_number(value + step)), rtol, atol)
    family, = (f for f in comparison.families if f.name == column_family(t.header[column]))
    assert comparison.failed == 1
    assert (family.worst_column, family.worst_key) == (t.header[column], t.rows[row][0])
