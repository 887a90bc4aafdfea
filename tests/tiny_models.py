"""Tiny randomly initialised models, saved the way real checkpoints are, for offline tests.

They go through exactly the loading path users take (`--fold-model DIR`, `from_pretrained`).
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import EsmConfig, EsmForMaskedLM, EsmForProteinFolding
from transformers.models.esm.configuration_esm import get_default_vocab_list


def _tiny_encoder(**extra) -> EsmConfig:
    """A 2-layer, 32-wide ESM-2-shaped encoder with the real 33-token alphabet."""
    settings = {
        "vocab_size": 33,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 64,
        "pad_token_id": 1,
        "mask_token_id": 32,
        "max_position_embeddings": 1026,
        "position_embedding_type": "rotary",
        "emb_layer_norm_before": False,
        "token_dropout": True,
        "vocab_list": get_default_vocab_list(),
    }
    return EsmConfig(**(settings | extra))


def tiny_esmfold_config() -> EsmConfig:
    # Smallest dims that construct: pair dim even, each state dim a multiple of its head width.
    return _tiny_encoder(
        is_folding_model=True,
        esmfold_config={
            "fp16_esm": False,
            "lddt_head_hid_dim": 16,
            "trunk": {
                "num_blocks": 1,
                "sequence_state_dim": 32,
                "pairwise_state_dim": 16,
                "sequence_head_width": 8,
                "pairwise_head_width": 8,
                "max_recycles": 1,
                "chunk_size": None,
                "structure_module": {
                    "sequence_dim": 32,
                    "pairwise_dim": 16,
                    "ipa_dim": 8,
                    "resnet_dim": 16,
                    "num_heads_ipa": 2,
                    "num_qk_points": 2,
                    "num_v_points": 2,
                    "num_blocks": 2,
                },
            },
        },
    )


def save_tiny_esmfold(directory: Path, seed: int = 1) -> Path:
    """Build, save and return the directory of a ~94k-parameter random ESMFold."""
    torch.manual_seed(seed)
    model = EsmForProteinFolding(tiny_esmfold_config()).eval()
    # Default init gives pLDDT ~50 everywhere; wider lDDT-head layers spreads scores over all
    # confidence bands, so colouring and plots are exercised across bands.
    with torch.no_grad():
        for layer in model.lddt_head[1:]:
            layer.weight.normal_(0.0, 0.5)
    model.save_pretrained(directory)
    return Path(directory)


def save_tiny_masked_lm(directory: Path, seed: int = 1, max_position_embeddings: int = 1026) -> Path:
    """Build, save and return the directory of a random ESM-2-shaped `EsmForMaskedLM` (~19k
    parameters); a small `max_position_embeddings` makes long-sequence windowing testable."""
    config = _tiny_encoder(max_position_embeddings=max_position_embeddings)
    torch.manual_seed(seed)
    model = EsmForMaskedLM(config).eval()
    # Default init (std 0.02) makes every log-probability nearly equal; larger output weights
    # spread the scores so a wrong column or window changes them well beyond float noise.
    with torch.no_grad():
        model.lm_head.dense.weight.normal_(0.0, 0.5)
        model.lm_head.decoder.weight.normal_(0.0, 0.5)
    model.save_pretrained(directory)
    return Path(directory)


if __name__ == "__main__":
    import sys

    print(save_tiny_esmfold(Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-esmfold")))
