"""The shared layer: sequences, settings, errors, files, caches, lazy loading, the Hub lookup.

Owns what every capability needs and nothing capability-specific. Imports no other `models`
package. Most modules here are pure Python (components/ imports `sequences`, `errors`, `tasks`).
"""
