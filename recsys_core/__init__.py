"""Pure recommender core: ingest, split, weight, train, evaluate, score, publish.

Never imports prefect: a notebook, a test or another orchestrator can call it directly.
"""
