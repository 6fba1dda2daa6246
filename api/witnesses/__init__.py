"""Witnesses (c2sp.org/tlog-witness, c2sp.org/tlog-cosignature), both sides.

The witness anyone can run (`ledger witness serve`): its state and key (`state.py`) and its
HTTP answers (`server.py`). The ledger's side: asking witnesses to cosign each checkpoint
(`client.py`, `submitter.py`) and what each last answered (`status.py`).
"""
