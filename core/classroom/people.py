"""Who is acting: a visitor's display name (no accounts for students), and the teacher's key.

A browser is known by a random owner token; runs record it and the owner's display name. The teacher key
(SENTIMENT_LAB_TEACHER_KEY, or one generated once per lab home) is typed once on the Teacher page; the browser then
keeps an HMAC of its own owner token under that key, which the server checks on every view. The key itself never
leaves the server, and a copied token works only beside the owner token it was made for.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core import config
from core.errors import ConfigError, LabError, shortened

TEACHER_KEY_ENV = "SENTIMENT_LAB_TEACHER_KEY"
KEY_FILE = "teacher.key"
CLI_OWNER = "cli"  # the owner the command line records; with no owner at all, a run belongs to the teacher too
MAX_NAME = 40
GUESTS = "guests"  # the one queue key of every visitor without a chosen name
_GUEST_NAME = re.compile(r"guest [0-9a-f]{4}")
# Names a student may not take: they would label runs like the teacher's (or the command line's) own.
RESERVED = frozenset({"teacher", "theteacher", "cli", "admin", "administrator"})


class PermissionDenied(LabError):
    """The actor may not do this (another student's run, or a teacher action without the teacher key)."""


@dataclass(frozen=True)
class Actor:
    """The person behind a request: their owner token, display name, and whether the teacher key unlocked it."""

    token: str
    name: str
    is_teacher: bool = False


CLI = Actor(CLI_OWNER, "teacher", is_teacher=True)  # the command line acts as the teacher


def short_text(text: object, what: str, limit: int) -> str:
    """A one-line text a person typed (a name, a title), trimmed and checked: 1 to `limit` printable characters."""
    value = " ".join(str(text).split())
    if not value:
        raise ConfigError(f"Type a {what} of 1 to {limit} characters.")
    if len(value) > limit:
        raise ConfigError(f"The {what} {shortened(value)!r} is too long: at most {limit} characters.")
    if not value.isprintable():
        raise ConfigError(f"A {what} may hold only printable characters (no control characters).")
    return value


def _folded(name: str) -> str:
    """A name as compared with others: compatibility forms unified, case and everything but letters and digits
    dropped ("The  Teacher!" and "theteacher" are one name)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", name).casefold() if ch.isalnum())


def display_name(text: object) -> str:
    """A display name as typed, trimmed and checked: 1 to 40 printable characters, not one kept for the teacher or
    for guests."""
    value = short_text(text, "name", MAX_NAME)
    if _folded(value) in RESERVED or _GUEST_NAME.fullmatch(value.casefold()):
        raise ConfigError(f"The name {value!r} is kept for the lab itself (the teacher, or visitors without a "
                          "name): pick your own.")
    return value


def guest_name(token: str) -> str:
    """The name of a visitor who has not picked one yet: stable for the browser, clearly not a chosen name."""
    return f"guest {hashlib.sha256(token.encode()).hexdigest()[:4]}"


def is_guest(name: str | None) -> bool:
    """Whether a run's or actor's name is a guest name (no name was chosen)."""
    return not name or bool(_GUEST_NAME.fullmatch(name))


def queue_key(owner: str | None, name: str | None) -> str | None:
    """Who a queued run counts against, for turns and the per-student limit. Without accounts a browser is no
    student (a visitor without cookies gets a new owner token on every visit), so: the teacher's runs are one key
    (None), every guest's runs share one key (GUESTS), and a named student is their name, however many browsers
    use it."""
    if teacher_owned(owner):
        return None
    return GUESTS if is_guest(name) else "name:" + _folded(name or "")


def teacher_owned(owner: str | None) -> bool:
    """Runs with no owner, or made from the command line, belong to the teacher."""
    return owner is None or owner == CLI_OWNER


def as_actor(who: Actor | str | None) -> Actor:
    """An Actor from what trusted callers pass: an Actor as it is; None or "cli" is the teacher at the command
    line; any other text is the owner token of a student without a chosen name (tests, scripts)."""
    if isinstance(who, Actor):
        return who
    return CLI if teacher_owned(who) else Actor(str(who), str(who))


# --- the teacher key ----------------------------------------------------------------------------------------
def _key_file(home: Path | None) -> Path:
    return (home if home is not None else config.lab_home()) / KEY_FILE


def teacher_key(home: Path | None = None) -> str:
    """SENTIMENT_LAB_TEACHER_KEY, else the key kept in the lab home (made on first use, readable only by the
    server's user)."""
    value = os.environ.get(TEACHER_KEY_ENV, "").strip()
    if value:
        return value
    path = _key_file(home)
    try:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_text().strip()
            if not key:
                raise ConfigError(f"The teacher key file {path} is empty: delete it to have a new key made, or set "
                                  f"{TEACHER_KEY_ENV}.") from None
            return key
        key = secrets.token_urlsafe(12)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        return key
    except OSError as exc:
        raise ConfigError(f"The teacher key file {path} cannot be used ({exc.strerror or exc}): set "
                          f"{TEACHER_KEY_ENV}, or point {config.HOME_ENV} at a writable folder.") from None


def startup_line(home: Path | None = None) -> str:
    """What the server prints once at start-up, so the teacher can unlock the Teacher page."""
    if os.environ.get(TEACHER_KEY_ENV, "").strip():
        return f"Teacher key: from {TEACHER_KEY_ENV}."
    key = teacher_key(home)
    return f"Teacher key: {key} (kept in {_key_file(home)}; set {TEACHER_KEY_ENV} to choose your own)."


def teacher_token(owner_token: str, home: Path | None = None) -> str:
    """What a teacher's browser keeps: an HMAC of its owner token under the teacher key (never the key itself)."""
    return hmac.new(teacher_key(home).encode(), f"teacher:{owner_token}".encode(), hashlib.sha256).hexdigest()


def unlock(entered: str, owner_token: str, home: Path | None = None) -> str:
    """The teacher token for this browser, when `entered` is the teacher key; else PermissionDenied."""
    if not hmac.compare_digest(str(entered).strip().encode(), teacher_key(home).encode()):
        raise PermissionDenied("That is not the teacher key: it is printed in the server's log at start-up.")
    return teacher_token(owner_token, home)


def actor(owner_token: str, name: str | None, token: str | None = None, home: Path | None = None) -> Actor:
    """The visitor of one browser: its owner token, its chosen name (or a guest name), and the teacher's rights
    when `token` is the HMAC that `unlock` gave this browser."""
    is_teacher = bool(token) and hmac.compare_digest(str(token).encode(), teacher_token(owner_token, home).encode())
    return Actor(owner_token, name or guest_name(owner_token), is_teacher)
