"""One construct per capability: data, api, thanks, monitoring (plus the shared function)."""
