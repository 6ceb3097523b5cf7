"""A RegistryCheck source: asks a card-verification service of the population registry whether a
chip card's data are genuine and current (the sandbox simulates one: idp/sandbox/registry.py)."""
