"""``dialer run``: one campaign to the end in one process (``dialer.embedded``'s stack).

``run`` is the flow; ``checks`` validates the options before anything is touched; ``lease``
keeps one run per database; ``ending`` winds a run down and maps how it ended to an exit
code; ``progress`` draws the progress bars and the summary.
"""
