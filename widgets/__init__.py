"""JupyterLab interactive components of ssamba-lab."""
from .reconstruction_explorer import ReconstructionExplorer

__all__ = ["ReconstructionExplorer"]
