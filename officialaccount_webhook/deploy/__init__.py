"""What running the app under a server needs from the app: gunicorn's logging
(``gunicorn_logging``). Nothing here imports the server; its configuration file imports this."""
