"""Live updates: the process's change feed (feed.py) and the streams subscriptions send."""
