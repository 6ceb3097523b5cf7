"""Figures for the provincial digital-government plan, computed from the audit trail."""
