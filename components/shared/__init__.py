"""Page parts every tab uses: the sequence input, share links, the script linking plots and viewer.

Imports no other `components` package.
"""
