"""The builders' old address: they live in tests/support.py now.

Kept only for the test modules not yet moved to `tests.support` (test_app, test_app_security,
test_masking, test_schedule, test_secrets); delete this file once they import from there.
"""

from tests.support import (
    DISTRICT_ID,
    SETTINGS,
    TOKEN,
    District,
    copy_store,
    hex_id,
    school,
    section,
    serve,
    small_district,
    staging_of,
    student,
    teacher,
)

__all__ = [
    "DISTRICT_ID",
    "SETTINGS",
    "TOKEN",
    "District",
    "copy_store",
    "hex_id",
    "school",
    "section",
    "serve",
    "small_district",
    "staging_of",
    "student",
    "teacher",
]
