"""Adapters: the only code that talks to AWS (DynamoDB, SNS) or keeps state in memory."""
