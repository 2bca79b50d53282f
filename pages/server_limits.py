"""Limits on what one browser can do to the whole Streamlit process, set once when the pages are first imported.

Streamlit's protocol lets any browser send `clear_cache`, which empties every session's caches (and would drop
whatever a page keeps in st.cache_resource), and its upload endpoint keeps every file a session sends in memory
until the session ends. On a class server neither may be left to one visitor, so this module:

- ignores `clear_cache` messages (the lab's process-wide state lives in core.registry anyway; a cache a visitor
  could empty at will would cost every other visitor the time to fill it again);
- keeps at most one pending upload per session: a new file replaces the session's earlier ones, and the Data sets
  page releases an upload once it is imported (`release`); memory freed this way is handed back to the system.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any

_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None)


def _return_memory() -> None:
    """Hand freed heap pages back to the system (glibc keeps them otherwise), so the process shrinks again."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def _ignore_clear_cache(self: Any) -> None:
    print("A browser asked to clear the server's caches; ignored (a class server keeps them).", file=sys.stderr,
          flush=True)


def _one_upload_per_session(add_file: Any) -> Any:
    def add(self: Any, session_id: str, file: Any) -> None:
        add_file(self, session_id, file)
        with self._lock:  # all but the newest (dicts keep insertion order), also when two uploads race
            earlier = list(self.file_storage.get(session_id, {}))[:-1]
        for file_id in earlier:
            self.remove_file(session_id, file_id)
        if earlier:
            _return_memory()
    add.lab_limited = True  # type: ignore[attr-defined]
    return add


def _then_return_memory(method: Any) -> Any:
    def call(self: Any, *args: Any) -> None:
        method(self, *args)
        _return_memory()
    call.lab_limited = True  # type: ignore[attr-defined]
    return call


def apply() -> None:
    """Install both limits (once per process; importing this module again changes nothing)."""
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager as Manager

    AppSession._handle_clear_cache_request = _ignore_clear_cache
    if not getattr(Manager.add_file, "lab_limited", False):
        Manager.add_file = _one_upload_per_session(Manager.add_file)
        Manager.remove_session_files = _then_return_memory(Manager.remove_session_files)


def release(file_id: str) -> None:
    """Drop this session's upload `file_id` from the server's memory (it has been read and imported)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None and ctx.uploaded_file_mgr is not None:
        ctx.uploaded_file_mgr.remove_file(ctx.session_id, file_id)
        _return_memory()
