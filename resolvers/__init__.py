"""What each field does: call the domain, count and log what happened, return domain values.

Resolvers sit below the schema: they know the ledger and the request, never GraphQL types.
Expected failures leave as domain errors; ``schema`` maps results and errors to its types.
"""
