"""ozon-monitor: watches an Ozon seller account and warns before problems escalate."""
__version__ = "0.1.0"
