"""Sign-in and who may act: the policy from `.streamlit/secrets.toml`, the signed-in user from
`st.user`, the sign-in screen, and who the audit log records for an approval, a rejection or an
undo. The decisions themselves are mgi_roster.access (pure, unit-tested); this module only
reads Streamlit's state and draws."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import streamlit as st

from mgi_roster.access import OPEN_NOTE, AccessDenied, AccessPolicy, Identity
from mgi_roster.errors import ConfigError
from mgi_roster.ui.presentation import shown

SIGN_IN_NOTE = OPEN_NOTE


def _secrets() -> dict[str, Any]:
    """The secrets as a plain dict; {} without a secrets file. A file that is there but does not
    parse raises: sign-in may be configured in it, so the dashboard must not run open."""
    try:
        return st.secrets.to_dict()
    except FileNotFoundError:  # StreamlitSecretNotFoundError: none, or one that does not parse
        files = [Path(f).expanduser() for f in st.get_option("secrets.files")]
        broken = [str(f) for f in files if f.is_file()]
        if broken:
            raise ConfigError(
                f"The secrets file {broken[0]} could not be read; fix it (the dashboard stays "
                "closed while it may hold the sign-in settings)."
            ) from None
        return {}


def policy() -> AccessPolicy:
    """Who may see the dashboard and who may approve, from .streamlit/secrets.toml."""
    try:
        return AccessPolicy.from_secrets(_secrets())
    except ConfigError as exc:
        return AccessPolicy(sign_in=True, problem=exc.message)


def identity() -> Identity:
    """The signed-in user (st.user's claims); nobody when sign-in is not configured."""
    return Identity.from_claims(st.user.to_dict())


def admitted() -> bool:
    """May this session see the dashboard? Always, without sign-in; else once signed in."""
    return policy().admits(identity())


def login_available() -> bool:
    """st.login needs Authlib (`pip install streamlit[auth]`)."""
    return importlib.util.find_spec("authlib") is not None


def _sign_in(provider: str | None) -> None:
    if provider is None:
        st.login()
    else:
        st.login(provider)


def sign_out() -> None:
    st.logout()


def sign_in_screen() -> None:
    """The only page a visitor sees until they sign in: nothing of the roster."""
    st.title("MGI Roster Review")
    rules = policy()
    if rules.problem is not None:
        st.error(f"Sign-in is not available: {rules.problem}")
        return
    if not login_available():
        st.error(
            "Sign-in is configured, but the Authlib package it needs is not installed: run "
            "`pip install 'streamlit[auth]'` on the server, then reload."
        )
        return
    st.write(
        "Sign in to review district rosters. Only listed approvers may approve, reject or undo "
        "a merge."
    )
    for provider in rules.providers:
        st.button(
            "Sign in" if provider is None else f"Sign in with {provider.capitalize()}",
            key=f"sign_in_{provider or 'default'}",
            type="primary",
            icon=":material/login:",
            on_click=_sign_in,
            args=(provider,),
        )


def reviewer_field(key: str, *, label: str, required: bool) -> str | None:
    """Who is deciding: without sign-in, a name to type (kept in the audit log); signed in, the
    user's identity. Returns why the user may not approve, reject or undo now (None: they may),
    ready to show."""
    rules, user = policy(), identity()
    if rules.is_open:
        name = st.text_input(label, key=key, max_chars=100, help="Recorded in the audit log.")
        if required and not name.strip():
            return "Enter your name as the reviewer to approve or reject."
        return None
    reason = rules.refusal(user)
    if reason is None:
        st.caption(shown(f"The audit log records you as {user.email}."))
        return None
    return shown(reason)


def acting_reviewer(key: str) -> str | None:
    """In an action: who the audit log records (the signed-in email, or the typed name). Checks
    again whatever the page showed, since a button's click can be sent without the page."""
    try:
        return policy().actor(identity(), str(st.session_state.get(key) or ""))
    except AccessDenied as exc:
        raise AccessDenied(shown(exc.message)) from None
