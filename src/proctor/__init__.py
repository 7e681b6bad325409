"""proctor: sandboxed interview exercises with graders that cannot be forged."""

__version__ = "0.1.0"
