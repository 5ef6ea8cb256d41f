"""Pure policy: outcome classification, calling windows and the retry decision.

Functions of their inputs only: no database, network or clock (``now`` is passed in).
"""
