from services.common.data.migrations import run_env
from services.notifications.models import Base

run_env(Base.metadata)
