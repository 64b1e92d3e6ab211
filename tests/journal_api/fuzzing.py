"""What the schemathesis runs over the app's OpenAPI document share (the stateless
`test_openapi_fuzzing.py`, the stateful `test_openapi_fuzzing_stateful.py`).

`unlimited(settings)` raises every rate limit and quota out of the fuzzer's reach;
`register_formats(settings)` makes schemathesis generate list cursors as the API signs
them and addresses the API accepts; `schemathesis_config()` tells its checks how the API
refuses a request; `SKIPPED` are the operations neither run calls and
`NEEDS_MODEL_SERVER` those that may answer their documented 503 (no model server here).
"""

from __future__ import annotations

import datetime as dt

import schemathesis
from hypothesis import strategies as st
from journal_api import keys
from journal_api import settings as settings_module
from journal_api.repositories import entries as entries_repo
from journal_api.routes import entries as entries_route
from schemathesis.config import SchemathesisConfig

KEYSETS = st.builds(
    entries_repo.Keyset,
    entry_date=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2999, 12, 31)),
    created_at=st.datetimes(timezones=st.just(dt.UTC)),
    id=st.uuids(),
)
# These end the fuzzing user's session or account, after which every later call would
# only exercise the 401 path; explicit tests cover them.
SKIPPED = {("DELETE", "/api/v1/users/me"), ("POST", "/api/v1/auth/logout-all")}
# Semantic search, and suggestions (screened by the model first), need the model server.
NEEDS_MODEL_SERVER = {"/api/v1/search", "/api/v1/insights/suggestions"}


def unlimited(settings: settings_module.Settings) -> settings_module.Settings:
    """``settings`` with every rate limit and per-user quota out of the fuzzer's reach."""
    raised = {
        name: 1_000_000
        for name in type(settings).model_fields
        if name.startswith(("rate_limit_per", "rate_limit_auth", "quota_max", "export_max"))
    }
    return settings.model_copy(update=raised)


def schemathesis_config() -> SchemathesisConfig:
    """Schemathesis' defaults (every check on), where a refused request may also be a 413.

    A body over `max_body_bytes` is turned away before it is read, as the document says of
    every operation; schemathesis' list of refusals lacks 413, so a huge invalid body
    would count as invalid data accepted.
    """
    checks = SchemathesisConfig().projects.default.checks
    refusals = [*checks.negative_data_rejection.expected_statuses, "413"]
    return SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": refusals}}}
    )


def register_formats(settings: settings_module.Settings) -> None:
    """Generate `format: journal-cursor` signed with ``settings``' key (a client can only
    send back a cursor it was given) and `format: email` as addresses the API accepts.

    Both are pure functions of what hypothesis draws, with no state of a user or a run in
    them: the stateful run replays earlier choices and must get the same values back.
    """
    cursor_key = keys.derive(settings, keys.CURSOR)
    schemathesis.openapi.format(
        entries_route.CURSOR_FORMAT, KEYSETS.map(lambda keyset: keyset.encode(cursor_key))
    )
    # Addresses on real domains: email-validator (rightly) refuses special-use names such
    # as `.local`, which `format: email` by itself does not exclude. Lower-cased, because
    # schemathesis' own validator (jsonschema-rs) refuses an upper-case punycode label
    # (`a@b.XN--TCKWE`) that DNS and the API accept: a negative case breaking only the
    # password would then count as valid data accepted.
    schemathesis.openapi.format("email", st.emails().map(str.lower))
