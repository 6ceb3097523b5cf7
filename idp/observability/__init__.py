"""What operators watch: JSON log lines (:mod:`.logs`), Prometheus metrics (:mod:`.metrics`) and the
one hook on the audit trail that feeds both (:mod:`.events`)."""
