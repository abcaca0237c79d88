from services.common.data.migrations import run_shared_env

run_shared_env()
