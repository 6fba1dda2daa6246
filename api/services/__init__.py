"""Subjects' rights and the clock: exports, consent receipts, unsubscribe links and the sweep.

Each module holds one piece of logic the HTTP routers and the CLI call in a few lines.
"""
