"""Presentation mode: for sharing a screen with a district, personal values are masked on every
page and in every download. The masks (mgi_roster.masking, which brings pandas and the
validation models) are imported the first time something is masked, not at start-up."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    import pandas as pd

    from mgi_roster.masking import Masker

PRESENTING_HELP = (
    "For sharing your screen with a district: names, dates of birth, gender, race, ethnicity, "
    "ELL status, emails and usernames are masked on every page and in CSV downloads."
)


def presenting() -> bool:
    return bool(st.session_state.get("presenting"))


def masker() -> Masker:
    """The session's masks (keyed by the session's own random key, see state.init_state)."""
    from mgi_roster.masking import Masker

    key = st.session_state.get("mask_key")
    if not isinstance(key, bytes):
        key = st.session_state["mask_key"] = os.urandom(16)
    return Masker(key)


def shown(text: str) -> str:
    """Text for the page (a run's message, the signed-in user): emails masked while presenting."""
    return masker().text(text) if presenting() else text


def shown_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return masker().frame(frame) if presenting() and not frame.empty else frame
