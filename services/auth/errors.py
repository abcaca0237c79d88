"""How the auth service refuses (services.common.errors says how each kind is answered)."""

from __future__ import annotations

from services.common.errors import Missing, StateConflict


class EmailInUse(StateConflict):
    default_message = "Email in use"
    default_field = "email"


class UserNotFound(Missing):
    default_message = "User not found"
