"""Who may use the dashboard and who may change the roster (mgi_roster.access): decisions over the
secrets and the user's claims as plain values."""

from __future__ import annotations

import pytest

from mgi_roster.access import OPEN_NOTE, AccessDenied, AccessPolicy, Identity
from mgi_roster.errors import RosterError

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "cookie-s3cret-value",
    "client_id": "oidc-client-id",
    "client_secret": "oidc-client-s3cret",
    "server_metadata_url": "https://accounts.example.org/.well-known/openid-configuration",
}
SECRETS = {"auth": AUTH, "mgi": {"approvers": ["Dana@Example.org", " lee@example.org "]}}
DANA = Identity(logged_in=True, email="dana@example.ORG", name="Dana", email_verified=True)
SAM = Identity(logged_in=True, email="sam@example.org", name="Sam")


def test_without_an_auth_section_the_dashboard_is_open_and_anyone_may_approve():
    for secrets in ({}, {"CLEVER_CLIENT_ID": "x"}, {"auth": {}}):
        policy = AccessPolicy.from_secrets(secrets)
        assert policy.is_open and policy.problem is None
        assert policy.admits(Identity())
        assert policy.can_approve(None)
        assert policy.refusal(Identity()) is None
        assert policy.note(Identity()) == OPEN_NOTE


def test_open_mode_records_the_typed_name():
    policy = AccessPolicy()
    assert policy.actor(Identity(), "  Dana  ") == "Dana"
    assert policy.actor(Identity(), "") is None


def test_approvers_without_sign_in_are_named_in_the_note_but_do_not_close_anything():
    policy = AccessPolicy.from_secrets({"mgi": {"approvers": ["dana@example.org"]}})
    assert policy.is_open and policy.can_approve("sam@example.org")
    assert "apply only with sign-in" in policy.note(Identity())


def test_a_complete_auth_section_needs_a_signed_in_user():
    policy = AccessPolicy.from_secrets(SECRETS)
    assert policy.sign_in and policy.problem is None
    assert policy.providers == (None,)
    assert not policy.admits(Identity())
    assert not policy.admits(Identity(logged_in=False, email="dana@example.org"))
    assert policy.admits(SAM)
    assert policy.refusal(Identity()) == "Sign in to approve, reject or undo."


def test_approvers_match_on_email_case_insensitively():
    policy = AccessPolicy.from_secrets(SECRETS)
    assert policy.approvers == {"dana@example.org", "lee@example.org"}
    assert policy.can_approve("DANA@example.org")
    assert policy.can_approve(" Lee@Example.Org ")
    assert not policy.can_approve("sam@example.org")
    assert not policy.can_approve(None) and not policy.can_approve("")
    assert not policy.can_approve("dana@example.org.evil.com")


def test_an_approver_acts_under_the_signed_in_email_whatever_name_was_typed():
    policy = AccessPolicy.from_secrets(SECRETS)
    assert policy.refusal(DANA) is None
    assert policy.actor(DANA, "Someone Else") == "dana@example.ORG"
    assert policy.note(DANA) == "Signed in as Dana (dana@example.ORG): approver"


def test_a_signed_in_reviewer_who_is_not_an_approver_is_refused_with_the_reason():
    policy = AccessPolicy.from_secrets(SECRETS)
    reason = policy.refusal(SAM)
    assert reason is not None and "sam@example.org is not an approver" in reason
    with pytest.raises(AccessDenied) as err:
        policy.actor(SAM, "Dana")
    assert isinstance(err.value, RosterError) and err.value.title == "Not allowed"
    assert policy.note(SAM).endswith("reviewer, cannot approve")


def test_an_unverified_email_is_not_an_approver():
    policy = AccessPolicy.from_secrets(SECRETS)
    unverified = Identity(logged_in=True, email="dana@example.org", email_verified=False)
    assert not policy.can_approve("dana@example.org", email_verified=False)
    assert "not verified" in (policy.refusal(unverified) or "")


def test_no_email_claim_and_no_approvers_each_say_what_to_do():
    policy = AccessPolicy.from_secrets(SECRETS)
    assert "did not include an email" in (policy.refusal(Identity(logged_in=True)) or "")
    nobody = AccessPolicy.from_secrets({"auth": AUTH})
    assert "No approvers are listed" in (nobody.refusal(DANA) or "")


@pytest.mark.parametrize(
    ("auth", "missing"),
    [
        ({k: v for k, v in AUTH.items() if k != "cookie_secret"}, "cookie_secret"),
        ({**AUTH, "client_secret": ""}, "client_secret"),
        ({"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x"}, "names no sign-in provider"),
        (
            {
                "redirect_uri": AUTH["redirect_uri"],
                "cookie_secret": "x",
                "google": {"client_id": "a", "server_metadata_url": "https://x"},
            },
            "google.client_secret",
        ),
    ],
)
def test_an_incomplete_auth_section_fails_closed_and_names_keys_never_values(auth, missing):
    policy = AccessPolicy.from_secrets({"auth": auth, "mgi": {"approvers": ["dana@example.org"]}})
    assert policy.sign_in and policy.problem and missing in policy.problem
    assert not policy.admits(DANA)
    assert "not configured correctly" in (policy.refusal(DANA) or "")
    for secret in ("cookie-s3cret-value", "oidc-client-s3cret", "oidc-client-id"):
        assert secret not in policy.problem


def test_named_providers_each_get_a_sign_in():
    shared = {k: AUTH[k] for k in ("redirect_uri", "cookie_secret")}
    provider = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    policy = AccessPolicy.from_secrets(
        {"auth": {**shared, "google": provider, "microsoft": provider}}
    )
    assert policy.problem is None and policy.providers == ("google", "microsoft")


@pytest.mark.parametrize(
    ("mgi", "approvers", "problem"),
    [
        ({"approvers": "Dana@Example.org"}, {"dana@example.org"}, False),
        ({"approvers": []}, set(), False),
        ({}, set(), False),
        ({"approvers": [1, 2]}, set(), True),
        ("dana@example.org", set(), True),
    ],
)
def test_approvers_list_shapes(mgi, approvers, problem):
    policy = AccessPolicy.from_secrets({"auth": AUTH, "mgi": mgi})
    assert policy.approvers == approvers
    assert (policy.problem is not None) is problem


def test_identity_from_claims():
    claims = {
        "is_logged_in": True,
        "email": " dana@example.org ",
        "name": "Dana",
        "email_verified": True,
        "sub": "123",
    }
    assert Identity.from_claims(claims) == Identity(True, "dana@example.org", "Dana", True)
    # Streamlit adds is_logged_in only when [auth] exists; without it nobody is signed in.
    assert not Identity.from_claims({"email": "test@example.com"}).logged_in
    assert not Identity.from_claims({"is_logged_in": "yes"}).logged_in
    assert Identity.from_claims({}).label == "a user without a name or email"
    assert (
        Identity.from_claims({"is_logged_in": True, "email_verified": "false"}).email_verified
        is None
    )
