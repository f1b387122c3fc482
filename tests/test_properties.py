"""Property-based tests of the parsers: whatever arrives, a clear answer and never a crash."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mgi_roster import store
from mgi_roster.entities import FETCHED
from mgi_roster.errors import DistrictIdError, InputError
from mgi_roster.roster import exports
from mgi_roster.schedule import Schedule, format_pause, parse_pause
from mgi_roster.sources import clever
from mgi_roster.sources.clever import read_envelope
from mgi_roster.staging.pages import EnvelopeReader, stage_page, staged_counts
from mgi_roster.staging.runfile import discard

HEX = "0123456789abcdef"
READ = EnvelopeReader()  # one DuckDB for all examples

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@given(
    st.text(alphabet=HEX + HEX.upper(), min_size=24, max_size=24),
    st.sampled_from(["", " ", "\n", "\t "]),
)
def test_any_24_hex_district_id_is_accepted_and_normalised(value, padding):
    assert clever.check_district_id(padding + value + padding) == value.lower()


@given(st.text())
def test_any_other_text_is_a_district_id_error_that_never_echoes_it_whole(value):
    if len(value.strip()) == 24 and all(c in HEX for c in value.strip().lower()):
        return
    with pytest.raises(DistrictIdError) as err:
        clever.check_district_id(value)
    assert err.value.message.endswith(".")
    if len(value) > 30:
        assert value not in err.value.message


@given(json_values)
@example({"data": True})  # found by hypothesis: data that is not a list
@example({"data": [{"data": 1}, {"uri": "x"}], "links": {}})
def test_both_envelope_readers_agree_on_any_json(value):
    text = json.dumps(value)
    try:
        expected = read_envelope(text)
    except ValueError:
        with pytest.raises(ValueError):
            READ(text)
        return
    found = READ(text)
    assert found.links == expected.links
    # The client counts items whose data is an object; DuckDB counts items that have data.
    assert found.count >= expected.count


@given(st.text())
def test_the_envelope_reader_refuses_text_that_is_not_a_json_object(text):
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return
    with pytest.raises(ValueError):
        READ(text)


@pytest.fixture(scope="module")
def con():
    con = store.connect(":memory:")
    yield con
    con.close()


@settings(max_examples=50)  # each example stages six entities
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["id", "name", "roles", "email", "sis_id", "students", "x"]),
            json_values,
            max_size=6,
        ),
        max_size=5,
    )
)
def test_staging_takes_any_records_without_crashing(con, records):
    body = json.dumps({"data": [{"data": r} for r in records], "links": []})
    for run, entity in enumerate(FETCHED, start=1):
        stage_page(con, entity, run, "d" * 24, body)
        assert staged_counts(con, run)[entity.name] <= len(records)
        discard(con, run)


@given(st.text())
def test_csv_cells_never_start_a_formula(value):
    safe = exports.safe_cell(value)
    assert not safe.startswith(exports.FORMULA_PREFIXES)
    assert safe.endswith(value)


@given(
    st.sampled_from(["off", "daily", "weekdays", "hourly", "sometimes"]),
    st.text(alphabet=string.digits + ":", max_size=6),
    st.integers(min_value=-2, max_value=30),
    st.sampled_from(["UTC", "America/Chicago", "Mars/Base", ""]),
)
def test_any_schedule_is_valid_or_a_clear_error(kind, at, every, tz):
    try:
        plan = Schedule(kind=kind, at=at, every_hours=every, tz=tz)
    except InputError as exc:
        assert exc.message.endswith(".")
    else:
        assert Schedule.from_dict(json.loads(plan.to_json())) == plan


@given(st.text(max_size=30))
def test_any_typed_pause_window_is_a_pair_of_dates_or_a_clear_error(text):
    try:
        start, end = parse_pause(text)
    except InputError as exc:
        assert exc.message.endswith(".") and "START..END" in exc.message
    else:
        assert parse_pause(format_pause((start, end))) == (start, end)
        try:
            Schedule(pauses=((start, end),))
        except InputError as exc:  # an impossible date, or a window that ends first
            assert "pause window" in exc.message


@given(st.dates(), st.dates())
def test_any_two_dates_make_a_pause_window_in_order(a, b):
    start, end = sorted((a.isoformat(), b.isoformat()))
    plan = Schedule(kind="daily", pauses=(parse_pause(f"{start}..{end}"),))
    assert Schedule.from_dict(json.loads(plan.to_json())) == plan
