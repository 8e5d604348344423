"""FastAPI service, web pages and the `attract` command line."""
