"""The verbs of Quire. Services own transactions: each commits once per state
change and publishes Celery messages only after that commit."""
