"""The PTM sites (with secondary structure from the sequence), Localization and Contacts tabs:
figures, tables, downloads, trust notes.

May import `components.structure` (the 3D views of sites and contacts) and `components.shared`.
"""
