"""The durable outbox: what the ledger must tell people and systems, until they have heard.

`notices.py` is the tracked consumer of the log (its own runner group, never rebuilt: a rebuild
would tell everyone again) that turns each event someone must hear about into a notice, in the
batch that moves its tracking position. `deliveries.py` fans each notice out to deliveries (one
per webhook subscription, system or e-mail address that must hear it) in one transaction, hands
out due deliveries to the dispatcher and records every attempt. `subscriptions.py` and
`contacts.py` hold who is to be told. Modules here may import `domain` and `projections.storage`,
never `api`; the sending itself (HTTP, SMTP) is api/notifications/.
"""
