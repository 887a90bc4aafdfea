"""Weights that are neither here nor reachable fail at once, before the library's retries: one
quick request to the Hub decides (models/shared/hub_lookup.py). No outside address is touched: the
"Hub" is a closed loopback port."""

from __future__ import annotations

import pytest

from models.shared import hub_lookup
from models.shared.errors import FoldingUnavailable, LanguageModelUnavailable
from models.structure.folding import Folder
from models.variants.language_model import MaskedLanguageModel

CLOSED_PORT = "http://127.0.0.1:9"


@pytest.fixture
def unreachable_hub(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", CLOSED_PORT)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    return tmp_path / "hub-cache"


def _never_called(*args, **kwargs):
    raise AssertionError("from_pretrained was reached: the library's retries were not avoided")


def test_an_unreachable_hub_is_found_by_one_quick_request(unreachable_hub):
    reachable, why = hub_lookup.hub_reachable()
    assert not reachable and "127.0.0.1:9" in why


def test_esmfold_from_an_unreachable_hub_fails_before_from_pretrained(unreachable_hub, monkeypatch):
    import transformers

    monkeypatch.setattr(transformers.EsmForProteinFolding, "from_pretrained", _never_called)
    with pytest.raises(FoldingUnavailable) as error:
        Folder("facebook/esmfold_v1", "cpu").load()
    message = str(error.value)
    assert "not in the local Hugging Face cache and the Hub cannot be reached" in message
    assert "hf download facebook/esmfold_v1" in message and "`" not in message


def test_the_language_model_from_an_unreachable_hub_fails_before_loading(unreachable_hub, monkeypatch):
    import transformers

    monkeypatch.setattr(transformers.EsmForMaskedLM, "from_pretrained", _never_called)
    with pytest.raises(LanguageModelUnavailable) as error:
        MaskedLanguageModel("facebook/esm2_t12_35M_UR50D", "cpu").load()
    assert "the Hub cannot be reached" in str(error.value)


def test_a_cached_model_loads_from_the_cache_when_the_hub_is_unreachable(unreachable_hub):
    snapshot = unreachable_hub / "models--someone--tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (unreachable_hub / "models--someone--tiny" / "refs").mkdir()
    (unreachable_hub / "models--someone--tiny" / "refs" / "main").write_text("abc123")
    assert hub_lookup.loading_options("someone/tiny") == {"local_files_only": True}
    with pytest.raises(hub_lookup.HubUnreachable):
        hub_lookup.loading_options("someone/not-cached")


def test_a_local_folder_never_asks_the_hub(unreachable_hub, tmp_path):
    assert hub_lookup.loading_options(str(tmp_path)) == {}
