"""One module per user-facing command: orchestration only."""
