"""The recorded-answer readers' old address: they live in tests/support.py now.

Kept only for tests/test_validation.py (`from tests import recorded`); delete this file once it
imports `recorded_body` and its siblings from `tests.support`.
"""

from tests.support import RECORDED
from tests.support import recorded_body as body
from tests.support import recorded_interactions as interactions
from tests.support import recorded_records as records

__all__ = ["RECORDED", "body", "interactions", "records"]
