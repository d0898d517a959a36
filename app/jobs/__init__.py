"""Entry point of the RQ worker (`python -m app.jobs.worker`); the jobs themselves live in each part's jobs.py."""
