"""The flow of the pages' buttons that change things (Runs, Class board, Data sets): a button asks, a warning with
Yes and Cancel waits for the answer, and the action's outcome is shown once, at the top of the next draw.

Actions run as button callbacks, before the page is drawn again, so the page that follows shows their effect.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable

import streamlit as st

from core.errors import LabError
from pages import ui


@dataclass(frozen=True)
class Flow:
    """One page's flow; its session keys are `{prefix}_flash` and `{prefix}_confirm`."""

    prefix: str

    @property
    def _flash(self) -> str:
        return f"{self.prefix}_flash"

    @property
    def _asked(self) -> str:
        return f"{self.prefix}_confirm"

    def say(self, kind: str, message: str) -> None:
        """Show `message` ("success" or "error") once on the next draw."""
        st.session_state[self._flash] = (kind, message)

    def run(self, action: Callable[[], str]) -> None:
        """Do `action` and say what it returns, or the LabError that refused it."""
        try:
            self.say("success", action())
        except LabError as exc:
            self.say("error", str(exc))

    def show(self) -> None:
        """The last outcome, once (a success also as a toast: seen when the button was far down the page)."""
        kind, message = st.session_state.pop(self._flash, (None, None))
        if kind is None:
            return
        message = ui.escape(message)  # it may quote a run's or a data set's name
        if kind == "success":
            st.success(message, icon="✅")
            st.toast(message, icon="✅")
        else:
            st.error(message, icon="⚠️")

    def ask(self, subject: Hashable = True) -> None:
        """Ask for a yes about `subject` (a run id, a data set's name) on the next draw."""
        st.session_state[self._asked] = subject

    def cancel(self) -> None:
        st.session_state.pop(self._asked, None)

    def asked(self) -> Any:
        """The subject waiting for a yes, or None."""
        return st.session_state.get(self._asked)

    def confirm(self, question: str, icon: str, yes: str, keys: tuple[str, str], action: Callable[[], str]) -> None:
        """The question (markdown) with Yes and Cancel, keyed `keys`; Yes does `action`."""
        st.warning(question, icon=icon)
        left, right, _ = st.columns([1, 1, 2])
        left.button(yes, type="primary", key=keys[0], on_click=self._yes, args=(action,), width="stretch")
        right.button("Cancel", key=keys[1], on_click=self.cancel, width="stretch")

    def _yes(self, action: Callable[[], str]) -> None:
        self.cancel()
        self.run(action)
