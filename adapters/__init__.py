"""Identity sources behind small capability protocols (see adapters/base.py)."""
