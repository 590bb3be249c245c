"""The CDK app that deploys the donations service: one stack composed of constructs."""
