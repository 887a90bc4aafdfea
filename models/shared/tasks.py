"""Names of what Protein Studio predicts (pure Python: the UI imports it without torch)."""

ANALYSIS_TASKS = ("ptm", "localization", "secondary", "contacts")  # answered together by one backbone pass
# The backbone's own last layer (per residue, and its mean): from the same pass, but only when
# asked for by name (a proteome's per-residue embeddings take gigabytes).
EMBEDDINGS = "embeddings"
# Each protein placed on the protein map (the localization head's reference proteins in 2D):
# from the same pass; asked for by name (placing is openTSNE's optimisation, not a lookup).
MAP = "map"
BACKBONE_TASKS = (*ANALYSIS_TASKS, EMBEDDINGS, MAP)  # everything one backbone pass answers
ALL_TASKS = ("structure", *BACKBONE_TASKS)
DEFAULT_TASKS = ("structure", *ANALYSIS_TASKS)  # predict.py without --tasks
