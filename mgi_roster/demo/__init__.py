"""The built-in demo district: a Clever API v3.0 district, computed on the fly, in Clever's wire format.

Nothing is stored. Every record is a pure function of ``(students, day, seed, index)``: a cheap
integer hash of the index picks names and demographics, and simple arithmetic on the index
places a student in a school, a grade and four sections. So a 1,000,000-student district costs
no more memory than a 1,200-student one. Its SIS has three days: a clean baseline, a day of
changes and planted problems, and a day with the problems fixed.

The modules, each building on the ones before it:

- ``ids``: ids, the hash of an index, the id ranges a list endpoint walks;
- ``people``: names in twelve languages and their ASCII forms, persons, demographics;
- ``layout``: schools, grade cohorts, teachers, sections, courses and terms as index arithmetic;
- ``days``: the SIS days, their planted changes and problems (``Planted``);
- ``district``: ``DemoDistrict``, which renders each record as Clever sends it;
- ``clever_wire``: ``handle()``, Clever's HTTP behaviour (envelopes, paging, auth, the tokens
  endpoint, rate limits);
- ``faults``: fault modes either transport can run with (``FAULT_MODES``);
- ``transport``: ``DemoAdapter`` and ``mount_demo()``, a ``requests`` transport (nothing leaves
  the process);
- ``server``: the loopback HTTP server (``make_server()``, ``serve()``);
- ``oneroster_wire``, ``oneroster_zip``, ``oneroster_api``, ``oneroster_transport``: the same
  district as a OneRoster provider (records derived from the Clever ones, the CSV package, the
  REST API, its adapter and loopback server); imported from those modules, not re-exported here.

The demo's API is what this file re-exports. Names with a leading underscore are shared between
the package's modules, not used outside it (tests aside). The Clever client does not import the
demo: ``mgi_roster.districts`` mounts it on the session when a district is the demo.
"""

from mgi_roster.demo.clever_wire import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_DISTRICT_TOKEN,
    DemoResponse,
    RateLimiter,
    handle,
)
from mgi_roster.demo.days import DEFAULT_CHANGED, DEMO_DAYS, Change, Planted, Transfer
from mgi_roster.demo.district import DEFAULT_STUDENTS, DemoDistrict
from mgi_roster.demo.faults import FAULT_MODES, Fault, Faulted, Faults, parse_fault
from mgi_roster.demo.ids import DEMO_DISTRICT_ID
from mgi_roster.demo.server import make_server, serve
from mgi_roster.demo.transport import DemoAdapter, mount_demo

__all__ = [
    "DEFAULT_CHANGED",
    "DEFAULT_STUDENTS",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_DAYS",
    "DEMO_DISTRICT_ID",
    "DEMO_DISTRICT_TOKEN",
    "Change",
    "DemoAdapter",
    "DemoDistrict",
    "DemoResponse",
    "FAULT_MODES",
    "Fault",
    "Faulted",
    "Faults",
    "Planted",
    "RateLimiter",
    "Transfer",
    "handle",
    "make_server",
    "mount_demo",
    "parse_fault",
    "serve",
]
