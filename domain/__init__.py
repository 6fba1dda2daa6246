"""The Compliance Ledger's domain: aggregates, their events and rules, and the application."""
