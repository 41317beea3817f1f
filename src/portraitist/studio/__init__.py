"""The portrait studio: an HTTP API with a job queue and a SQLite gallery, and a browser studio."""
