from __future__ import annotations

import pytest

from services.common.settings import Settings


@pytest.fixture
def settings(settings: Settings, localstripe_url: str) -> Settings:
    """The shared settings (the test's database and own stream), with localstripe."""
    return settings.model_copy(update={"stripe_api_base": localstripe_url})
