"""Pure policy: outcome classification, calling windows, the dial-time gates and the retry
decision.

Functions of their inputs only: no database, network or clock (``now`` is passed in).
"""
