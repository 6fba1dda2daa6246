"""Sending what the outbox holds: webhooks (`targets`, the SSRF policy and the one address a
delivery connects to; `signatures`, the Standard Webhooks headers; `webhook_sender`, one
attempt), e-mail (`mail`, `smtp`), and the `dispatcher` that drives them. Modules here may
import `domain/` and `projections/`, never `api.routers`.
"""
