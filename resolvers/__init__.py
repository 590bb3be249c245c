"""What each root field does: read arguments, call the ledger, map the result."""
