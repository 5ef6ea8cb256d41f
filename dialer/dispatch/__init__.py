"""Dispatch: from a queued attempt to one provider request, at most once.

``gates`` decides whether an attempt may still be dialled; ``store`` holds the attempt SQL
(claim, record); ``dial`` is the service the ``place_call`` / ``send_sms`` actors call;
``broker`` builds the Dramatiq broker and registers the actors on it.
"""
