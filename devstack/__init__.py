"""The infrastructure processes behind the embedded stack and the test fixtures."""
