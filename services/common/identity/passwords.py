"""The password rule, in one place: the auth service enforces it, the web shop's sign-up
form states it."""

from __future__ import annotations

# NIST SP 800-63B: at least 8 characters, and room for long passphrases.
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
