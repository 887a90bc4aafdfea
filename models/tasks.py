"""Names of what Protein Studio predicts (pure Python: the UI imports it without torch)."""

ANALYSIS_TASKS = ("ptm", "localization", "contacts")  # answered together by one backbone pass
ALL_TASKS = ("structure", *ANALYSIS_TASKS)
