"""ssamba-lab: self-supervised audio representation learning with selective state-space models."""
__version__ = "0.1.0"
