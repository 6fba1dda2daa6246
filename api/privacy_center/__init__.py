"""The privacy center at /privacy-center: where a person (a subject, not a vendor's user) signs
in with a one-time e-mail link, sees their consents per purpose and channel and changes them,
downloads their own export, files requests and follows them; in English and Dutch.

texts (every word, both languages), links (the sealed one-time link), sign_in_mail (the mail
and the look-up behind it), pages (headers, rendering, cookies, what a page is given),
sign_in and me (the routes), self_service (the commands on the Ledger), router (the list).
Its stores are projections/storage/privacy_center_sessions.py. It may use api.services,
api.http and api.portal's helpers; nothing under api.routers or api.portal imports it.
"""
