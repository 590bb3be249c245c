"""`make bench`: warm overhead, cold start, DynamoDB round trips and Lambda asset size.

Every timed figure is a ratio of two things measured side by side in the same run, so it
holds on a shared, noisy machine; absolute times are printed for context only.
"""
