"""The demo: two sample relying parties (clearly marked) and a demo account, for a first run."""
