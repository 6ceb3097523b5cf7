"""Local accounts: password hashing and policy, creation and verification."""
