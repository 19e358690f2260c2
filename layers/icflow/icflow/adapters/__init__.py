"""Thin boto3 wrappers: each turns one AWS service's calls into icflow's terms and nothing more."""
