"""Redis adapters: conversation memory, preferences, privacy vaults and caches."""
