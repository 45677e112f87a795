"""The dashboard: a local page with the leaderboard, your spend and savings, the decisions and the dial.

``server.py`` serves it on 127.0.0.1 (a random port, a random token every request must carry, no CORS,
settings changed only by a same-origin POST), ``figures.py`` computes what it shows from the engine and
the ledger, ``pages.py`` and ``plots.py`` render it as HTML and inline SVG with every string escaped
(``markup.py``), and ``static/`` holds its one stylesheet. No script runs on the page.
"""
