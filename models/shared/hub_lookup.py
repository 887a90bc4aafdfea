"""Find where a model's weights are before loading them, and fail fast when the Hub is unreachable.

`from_pretrained(hub_id)` on a machine that cannot reach the Hub retries for about half a minute
before it fails (27 s measured here), while the page can only say "loading". One request with a
short timeout answers the same question in seconds; the library's own loading path is unchanged
where the weights can be had.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

HUB_PROBE_SECONDS = 3.0  # connect + answer; the Hub answers a model lookup in well under a second


class HubUnreachable(OSError):
    """The weights are not on this machine and the Hub cannot be reached (the text says why)."""


def is_local_path(spec: str) -> bool:
    """Whether `spec` names a folder (existing or meant to), not a Hub id."""
    return spec.startswith((os.sep, ".", "~")) or Path(spec).expanduser().exists()


def in_local_cache(model_id: str) -> bool:
    """Whether the Hugging Face cache holds this repository's config (a finished download)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(model_id, "config.json")
    except ValueError:  # not a valid repository id: the Hub cannot have it either
        return False
    return isinstance(found, str)


def hub_reachable(timeout: float = HUB_PROBE_SECONDS) -> tuple[bool, str]:
    """(reachable, why not): one request to the configured endpoint, no retries."""
    import httpx
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False, "offline mode is on (HF_HUB_OFFLINE=1)"
    try:
        httpx.head(constants.ENDPOINT, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as error:
        return False, f"{constants.ENDPOINT} did not answer within {timeout:.0f} s ({type(error).__name__})"
    return True, ""


def loading_options(spec: str) -> dict:
    """Extra `from_pretrained` arguments for `spec`: none for a folder or a reachable Hub,
    `local_files_only` for a cached model with the Hub unreachable; raises HubUnreachable at
    once when the model is neither here nor reachable."""
    if is_local_path(spec):
        return {}
    reachable, why = hub_reachable()
    if reachable:
        return {}
    if in_local_cache(spec):
        log.info("The Hub is unreachable (%s): loading %s from the local cache", why, spec)
        return {"local_files_only": True}
    raise HubUnreachable(
        f"{spec} is not in the local Hugging Face cache and the Hub cannot be reached: {why}"
    )
