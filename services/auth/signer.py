"""The token signer of the auth service, the only one holding the private key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.common.http.dependencies import RuntimeDep
from services.common.identity.tokens import TokenSigner


async def get_token_signer(runtime: RuntimeDep) -> TokenSigner:
    assert runtime.signer is not None, "the auth service is defined with signs_tokens=True"
    return runtime.signer


SignerDep = Annotated[TokenSigner, Depends(get_token_signer)]
