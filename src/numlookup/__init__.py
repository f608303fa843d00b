"""numlookup: a Number Lookup server (MSISDN -> serving network MCC+MNC)."""

from numlookup.results import Outcome, ResultCode

__all__ = ["Outcome", "ResultCode", "__version__"]
__version__ = "0.1.0"
