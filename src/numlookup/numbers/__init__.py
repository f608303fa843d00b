"""Numbering plans: E.164 MSISDNs and E.212 MCC+MNC."""
