"""Quire's pipeline core: plain Python, no Flask, no Celery, no ORM.

Splitting, text extraction, cleaning, segmentation, processors and merging live
here so that the CLI, the Celery tasks and the tests all call the same code.
"""
