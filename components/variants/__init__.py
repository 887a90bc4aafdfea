"""The Mutations tab: variants of the input protein and a site-saturation scan.

May import `components.analysis`, `components.structure` and `components.shared`.
"""
