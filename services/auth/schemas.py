"""Request and response bodies of /api/users."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field, StringConstraints

from services.auth.models import User
from services.common.http.schemas import ApiModel
from services.common.identity.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from services.common.identity.tokens import TokenClaims


def normalized_email(value: str) -> str | None:
    """The address as stored and looked up (None: not an address): one account per
    address however it is spelt, in case, in Unicode (fullwidth letters, an ideographic
    full stop, characters IDNA ignores) or with whitespace around it."""
    # The validator behind pydantic's EmailStr, called directly so that a display name
    # ("Ann <ann@x.io>") is refused rather than stripped.
    try:
        normalized = validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None
    return normalized.lower()


def _valid_email(value: str) -> str:
    normalized = normalized_email(value)
    if normalized is None:
        raise ValueError("Email must be valid")
    return normalized


def _new_password(value: str) -> str:
    if not PASSWORD_MIN_LENGTH <= len(value) <= PASSWORD_MAX_LENGTH:
        raise ValueError(
            f"Password must be between {PASSWORD_MIN_LENGTH} and {PASSWORD_MAX_LENGTH} characters"
        )
    return value


def _supplied_password(value: str) -> str:
    if not value:
        raise ValueError("You must supply a password")
    return value


Email = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_valid_email)]


class SignupIn(ApiModel):
    email: Email = Field(description="A valid email address; stored lower-cased.")
    password: Annotated[str, AfterValidator(_new_password)] = Field(
        description=f"Between {PASSWORD_MIN_LENGTH} and {PASSWORD_MAX_LENGTH} characters."
    )


class SigninIn(ApiModel):
    email: Email
    password: Annotated[str, AfterValidator(_supplied_password)]


class PasswordChangeIn(ApiModel):
    current_password: Annotated[str, AfterValidator(_supplied_password)]
    new_password: Annotated[str, AfterValidator(_new_password)] = Field(
        description=f"Between {PASSWORD_MIN_LENGTH} and {PASSWORD_MAX_LENGTH} characters."
    )


class UserOut(ApiModel):
    id: UUID
    email: str

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, email=user.email)


class BannedUserOut(UserOut):
    banned: bool

    @classmethod
    def of(cls, user: User) -> BannedUserOut:
        return cls(id=user.id, email=user.email, banned=user.banned)


def _epoch_seconds(instant: datetime) -> int:
    return int(instant.timestamp())


class SessionUserOut(ApiModel):
    """The signed-in user as the token describes them; iat and exp in epoch seconds."""

    id: UUID
    email: str
    iat: int
    exp: int

    @classmethod
    def of(cls, claims: TokenClaims) -> SessionUserOut:
        return cls(
            id=claims.user_id,
            email=claims.email,
            iat=_epoch_seconds(claims.issued_at),
            exp=_epoch_seconds(claims.expires_at),
        )


class CurrentUserOut(ApiModel):
    current_user: SessionUserOut | None
