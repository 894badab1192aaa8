"""Servicing services: each one change with its history, audit event and ledger entry."""
