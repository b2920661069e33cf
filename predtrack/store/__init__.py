"""Storage: engine and sessions, schema revisions, and the ledger."""
