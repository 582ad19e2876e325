"""Notifications: operator alerts sent to the trader's phone (``EXECUTOR_NOTIFY_URLS``).

``targets.py`` reads the URLs (each one's scheme prefix names its format) and redacts
them; ``message.py`` is what is sent, one body per format; ``sender.py`` sends off the
trading path (bounded queue, background tasks, retries, collapse of repeats);
``forward.py`` hands the worker's alerts from the event bus to the sender. The
dashboard's ``worker_down`` uses ``sender.py`` and ``message.py`` only.
"""
