"""Business rules of the donations service. Imports no AWS SDK, no GraphQL, no environment."""
