from services.auth.models import Base
from services.common.data.migrations import run_env

run_env(Base.metadata)
