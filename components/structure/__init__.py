"""The Structure tab and what draws structures: the 3D viewer, 3Dmol.js, confidence plots,
and the structure workbench (open, compare).

May import `components.shared` only.
"""
