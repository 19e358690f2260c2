"""Transform outputs to labeled predictions: parse one output (`output`), label it (`labeled`), write
predictions.jsonl / predictions.csv (`writers`) and summary.json (`summary`), and do all of it for a
finished transform job straight from S3 with bounded memory (`labeler`).
"""
