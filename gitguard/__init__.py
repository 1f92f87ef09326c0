"""gitguard: back up, audit, restore and report on websites with git."""

__version__ = "0.1.0"
