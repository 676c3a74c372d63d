"""CSV headers matched to the contract by name: any order and case, a byte order mark, optional columns left out;
a missing, unknown or repeated column, or no header at all, rejects the whole file with what is wrong."""

import pytest

from retail.contracts import CLICKSTREAM, CUSTOMERS
from spark.bronze.csv_header import CsvDialect, CsvHeaderError, read_header
from spark.bronze.job import land_csv

ROW = ("e1", "C1", "Ann", "ann@example.com", "DE", "2026-01-01T00:00:00Z")  # in the contract's order


@pytest.mark.parametrize(
    ("first_line", "columns"),
    [
        ("event_id,customer_id,name,email,country,signup_date", CUSTOMERS.names),
        (
            " Email , NAME,country,signup_date,customer_id,event_id",
            ("email", "name", "country", "signup_date", "customer_id", "event_id"),
        ),
        ("\ufeffevent_id,customer_id,name,email,country,signup_date", CUSTOMERS.names),
        ("customer_id,name,email,country,signup_date", CUSTOMERS.names[1:]),  # a shop's export: no event_id
    ],
)
def test_a_header_in_any_order_and_case_is_taken_by_name(tmp_path, first_line, columns):
    path = tmp_path / "export-customers.csv"
    path.write_text(first_line + "\n", encoding="utf-8")

    assert read_header(path, CUSTOMERS).columns == columns


def test_an_empty_file_passes_with_nothing_to_land(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    assert read_header(path, CUSTOMERS).columns == CUSTOMERS.names


def test_an_optional_column_may_be_left_out(tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_text("event_id,user_id,session_id,page_url,event_type,timestamp\n")

    assert "product_id" not in read_header(path, CLICKSTREAM).columns


@pytest.mark.parametrize(
    ("first_line", "says"),
    [
        ("event_id,customer_id,name,email,country", "missing signup_date"),
        ("event_id,customer_id,name,email,country,signup_date,loyalty_tier", "unknown loyalty_tier"),
        ("event_id,customer_id,name,email,email,country,signup_date", "repeated email"),
        (",".join(ROW), "no header"),
        (" , ,", "no header"),
    ],
)
def test_a_header_that_does_not_fit_rejects_the_file_naming_why(tmp_path, first_line, says):
    path = tmp_path / "export-customers.csv"
    path.write_text(first_line + "\n")

    with pytest.raises(CsvHeaderError) as rejected:
        read_header(path, CUSTOMERS)

    assert says in str(rejected.value)
    assert "Expected columns" in str(rejected.value) and "signup_date" in str(rejected.value)


def test_columns_land_by_name_not_by_position(spark, tmp_path):
    order = (3, 0, 5, 1, 4, 2)  # email, event_id, signup_date, customer_id, country, name
    path = tmp_path / "export-customers.csv"
    header = ",".join(CUSTOMERS.names[i].upper() for i in order)
    path.write_text(header + "\n" + ",".join(ROW[i] for i in order) + "\n")
    lake = f"file://{tmp_path}/lake"

    report = land_csv(spark, path, "customers", landing_root=f"{lake}/landing", bronze_root=f"{lake}/bronze")

    row = spark.read.parquet(f"{lake}/bronze").select(*CUSTOMERS.names, "parse_error").collect()[0]
    assert (report.rows, report.parse_errors) == (1, {})
    assert tuple(row[n] for n in CUSTOMERS.names) == ROW and row.parse_error is None


def test_a_rejected_file_lands_nothing(spark, tmp_path):
    path = tmp_path / "export-customers.csv"
    path.write_text("event_id,customer_id,name\n" + "e1,C1,Ann\n")
    lake = f"file://{tmp_path}/lake"

    with pytest.raises(CsvHeaderError):
        land_csv(spark, path, "customers", landing_root=f"{lake}/landing", bronze_root=f"{lake}/bronze")

    assert not (tmp_path / "lake").exists()


def test_unknown_columns_pass_when_the_dialect_keeps_them(tmp_path):
    path = tmp_path / "export-customers.csv"
    path.write_text("customer_id,Loyalty Tier,name,email,country,signup_date\n")

    header = read_header(path, CUSTOMERS, CsvDialect(extra_columns=True))

    assert header.extra == ("loyalty tier",) and header.columns[1] == "loyalty tier"


@pytest.mark.parametrize(
    ("delimiter", "encoding"), [(",,", "utf-8"), ('"', "utf-8"), (",", "cp1252"), (",", "klingon")]
)
def test_a_dialect_that_cannot_be_read_is_refused_at_once(delimiter, encoding):
    with pytest.raises(ValueError, match=r"delimiter|encoding"):
        CsvDialect(delimiter=delimiter, encoding=encoding)


def test_a_file_of_another_delimiter_says_so(tmp_path):
    path = tmp_path / "export-customers.csv"
    path.write_text("customer_id;name;email;country;signup_date\n")

    with pytest.raises(CsvHeaderError, match="not ','-separated"):
        read_header(path, CUSTOMERS)
