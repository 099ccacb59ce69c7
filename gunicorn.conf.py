"""gunicorn settings every Gatehouse server shares; gunicorn reads this file from the folder it starts
in (the repository, or /app in the image). Command-line options (bind, workers, threads, log
files) stay with each way of running it: bin/run-embedded, compose.yaml, the Dockerfile, bench/."""

# The same access log lines as gunicorn's own logger, for half its cost (config/gunicorn_logging.py).
logger_class = "config.gunicorn_logging.Logger"
