"""Who may use the dashboard, and who may change the roster: decided from plain values.

Sign-in is Streamlit's own OIDC login (`st.login`), configured by an `[auth]` section of
`.streamlit/secrets.toml`; the approvers are listed in `[mgi] approvers`. This module only
reads those sections as a mapping and the signed-in user's claims as a mapping (what `st.user`
holds), so every decision is a pure function with a unit test; `mgi_roster.ui` is the one place
that reads `st.secrets` and `st.user` and passes them in.

    no [auth] section            open: anyone may review and approve (local and demo use);
                                 the reviewer types a name, which the audit log records
    [auth] complete              a sign-in screen until the user signs in; then only the
                                 listed approvers may Approve, Reject or Undo, and the audit
                                 log records the signed-in email
    [auth] present, incomplete   closed: the sign-in screen says what is missing (by key name,
                                 never a value) and nothing of the roster is shown

A half-written `[auth]` section fails closed on purpose: whoever wrote it meant the dashboard
to need a sign-in, and a typo must not leave the roster open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mgi_roster.errors import RosterError

# Streamlit's shared [auth] settings, and what each provider needs (st.login's documentation).
SHARED_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
OPEN_NOTE = "No sign-in configured: open for local and demo use"


class AccessDenied(RosterError):
    """The signed-in user may not do this (Approve, Reject or Undo)."""

    title = "Not allowed"


@dataclass(frozen=True)
class Identity:
    """The user as the sign-in provider describes them (the claims of their identity token)."""

    logged_in: bool = False
    email: str | None = None
    name: str | None = None
    email_verified: bool | None = None  # None: the provider did not say

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Identity:
        """Read `st.user` as a plain mapping. Without `is_logged_in` (Streamlit adds it only
        when sign-in is configured) nobody is signed in."""
        email = str(claims.get("email") or "").strip() or None
        verified = claims.get("email_verified")
        return cls(
            logged_in=claims.get("is_logged_in") is True,
            email=email,
            name=str(claims.get("name") or "").strip() or None,
            email_verified=verified if isinstance(verified, bool) else None,
        )

    @property
    def label(self) -> str:
        """How the sidebar names the user."""
        if self.name and self.email:
            return f"{self.name} ({self.email})"
        return self.email or self.name or "a user without a name or email"


@dataclass(frozen=True)
class AccessPolicy:
    """The dashboard's access rules, from the secrets."""

    sign_in: bool = False  # an [auth] section exists: the dashboard needs a signed-in user
    providers: tuple[str | None, ...] = ()  # None: [auth]'s own provider (st.login())
    approvers: frozenset[str] = frozenset()  # lower-cased emails
    problem: str | None = None  # why sign-in cannot work as configured (then nobody gets in)

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, Any]) -> AccessPolicy:
        auth = secrets.get("auth")
        approvers, approver_problem = _approvers(secrets.get("mgi"))
        if auth is None or (isinstance(auth, Mapping) and not auth):
            return cls(approvers=approvers)
        if not isinstance(auth, Mapping):
            return cls(sign_in=True, problem="[auth] in secrets.toml must be a section (a table).")
        missing = [key for key in SHARED_KEYS if not _filled(auth.get(key))]
        providers: list[str | None] = []
        if any(key in auth for key in PROVIDER_KEYS):  # the default provider, flat in [auth]
            providers.append(None)
            missing += [key for key in PROVIDER_KEYS if not _filled(auth.get(key))]
        for name, value in auth.items():
            if isinstance(value, Mapping) and any(key in value for key in PROVIDER_KEYS):
                providers.append(str(name))
                missing += [f"{name}.{k}" for k in PROVIDER_KEYS if not _filled(value.get(k))]
        problems = []
        if not providers:
            problems.append(
                "[auth] in secrets.toml names no sign-in provider: add client_id, client_secret "
                "and server_metadata_url (or an [auth.<provider>] section with them)."
            )
        if missing:
            problems.append(
                "[auth] in secrets.toml is missing "
                + ", ".join(missing)
                + ": fill them in (see .streamlit/secrets.example.toml)."
            )
        if approver_problem:
            problems.append(approver_problem)
        return cls(
            sign_in=True,
            providers=tuple(providers),
            approvers=approvers,
            problem=" ".join(problems) or None,
        )

    @property
    def is_open(self) -> bool:
        return not self.sign_in

    def admits(self, identity: Identity) -> bool:
        """May this user see the dashboard at all?"""
        return self.is_open or (self.problem is None and identity.logged_in)

    def can_approve(self, email: str | None, *, email_verified: bool | None = None) -> bool:
        """Is this email one of the approvers (case-insensitive)? A provider saying the email
        is not verified rules it out: anyone can type an address into some identity providers."""
        if self.is_open:
            return True
        if not email or email_verified is False:
            return False
        return email.strip().lower() in self.approvers

    def refusal(self, identity: Identity) -> str | None:
        """Why this user may not Approve, Reject or Undo (None: they may)."""
        if self.is_open:
            return None
        if self.problem is not None:
            return "Sign-in is not configured correctly, so nobody may change the roster."
        if not identity.logged_in:
            return "Sign in to approve, reject or undo."
        if not identity.email:
            return (
                "Your sign-in did not include an email address, and approvers are listed by "
                "email. Ask for the email scope from the sign-in provider."
            )
        if identity.email_verified is False:
            return (
                f"Your email address {identity.email} is not verified by the sign-in provider; "
                "only verified approvers may change the roster."
            )
        if not self.approvers:
            return (
                "No approvers are listed yet: add their emails to [mgi] approvers in "
                ".streamlit/secrets.toml."
            )
        if not self.can_approve(identity.email, email_verified=identity.email_verified):
            return (
                f"{identity.email} is not an approver: you can review, but only the approvers "
                "listed in [mgi] approvers may approve, reject or undo."
            )
        return None

    def actor(self, identity: Identity, typed: str | None = None) -> str | None:
        """Who the audit log records for an Approve, Reject or Undo: the signed-in email, or
        (open) the name the reviewer typed. Raises AccessDenied when the user may not act, so
        an action checks again whatever the page showed."""
        reason = self.refusal(identity)
        if reason is not None:
            raise AccessDenied(reason)
        if self.is_open:
            return (typed or "").strip() or None
        return identity.email

    def note(self, identity: Identity) -> str:
        """The sidebar's line about sign-in."""
        if self.is_open:
            if self.approvers:
                return OPEN_NOTE + " ([mgi] approvers apply only with sign-in)"
            return OPEN_NOTE
        role = "approver" if self.refusal(identity) is None else "reviewer, cannot approve"
        return f"Signed in as {identity.label}: {role}"


def _filled(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _approvers(section: Any) -> tuple[frozenset[str], str | None]:
    if section is None:
        return frozenset(), None
    if not isinstance(section, Mapping):
        return frozenset(), "[mgi] in secrets.toml must be a section (a table)."
    listed = section.get("approvers", [])
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list | tuple) or not all(isinstance(e, str) for e in listed):
        return frozenset(), '[mgi] approvers must be a list of emails, like ["a@example.org"].'
    return frozenset(e.strip().lower() for e in listed if e.strip()), None
