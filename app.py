"""Protein Studio web app: flags -> models facade -> page from components/ -> launch."""

from __future__ import annotations

import os

# Before gradio is imported: no usage analytics calls home (the app must work offline).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import argparse  # noqa: E402
import logging  # noqa: E402
import threading  # noqa: E402

from models.shared.settings import add_model_arguments  # noqa: E402 - pure Python, no torch


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        description="Protein Studio: protein structure, PTM sites, localization and contacts in the browser.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--host",
        default=env("HOST", env("GRADIO_SERVER_NAME", "127.0.0.1")),
        help="interface to listen on; 0.0.0.0 to serve your network (env HOST or GRADIO_SERVER_NAME)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env("PORT", env("GRADIO_SERVER_PORT", "7860"))),
        help="port to listen on (env PORT or GRADIO_SERVER_PORT)",
    )
    parser.add_argument(
        "--share",
        action="store_true",
        help="also create a public *.gradio.live link (off by default; needs network)",
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--max-batch-records",
        type=int,
        default=int(env("MAX_BATCH_RECORDS", "500")),
        help="most records one Batch-tab upload may hold (env MAX_BATCH_RECORDS)",
    )
    parser.add_argument(
        "--max-batch-folds",
        type=int,
        default=int(env("MAX_BATCH_FOLDS", "20")),
        help="most records the Batch tab folds per upload (env MAX_BATCH_FOLDS)",
    )
    parser.add_argument(
        "--max-queue",
        type=int,
        default=int(env("MAX_QUEUE", "64")),
        help="requests that may wait in the queue; beyond it users are told the app is busy (env MAX_QUEUE)",
    )
    parser.add_argument(
        "--max-scan-positions",
        type=int,
        default=int(env("MAX_SCAN_POSITIONS", "200")),
        help="most positions one site-saturation scan covers (env MAX_SCAN_POSITIONS)",
    )
    parser.add_argument(
        "--max-variant-folds",
        type=int,
        default=int(env("MAX_VARIANT_FOLDS", "10")),
        help="most variants folded per request when their wild type was folded (env MAX_VARIANT_FOLDS)",
    )
    parser.add_argument(
        "--result-cache",
        default=env("PROTEIN_STUDIO_RESULTS", ""),
        help="directory of the persistent result cache shared with predict.py, or 'off' "
        "(env PROTEIN_STUDIO_RESULTS; default <cache>/results)",
    )
    parser.add_argument(
        "--result-cache-mb",
        type=int,
        default=int(env("PROTEIN_STUDIO_RESULTS_MB", "2048")),
        help="size bound of the result cache; least recently used entries go first",
    )
    return parser.parse_args(argv)


def _result_cache_dir(value: str, default) -> str | None:
    if value.strip().lower() in ("off", "none", "0"):
        return None
    return value.strip() or default()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    import gradio as gr

    from components.page import build_page, page_css, page_head
    from components.structure import threedmol
    from models.structure.secondary import load_radius_table
    from models.studio import Studio, StudioConfig, default_result_cache

    local_js = threedmol.ensure_local_copy()
    if local_js is not None:
        gr.set_static_paths([str(local_js.parent)])
    from models.analysis.head_cards import HeadCardError

    try:
        studio = Studio(
            StudioConfig(
                fold_model=args.fold_model,
                device=args.device,
                max_fold_length=args.max_fold_length,
                backbone=args.backbone,
                heads_dir=args.heads,
                max_analyze_length=args.max_analyze_length,
                lm_model=args.lm_model,
                max_scan_positions=args.max_scan_positions,
                max_variant_folds=args.max_variant_folds,
                result_cache=_result_cache_dir(args.result_cache, default_result_cache),
                result_cache_bytes=args.result_cache_mb * 1024**2,
            )
        )
    except HeadCardError as error:
        raise SystemExit(f"Protein Studio cannot start: {error}") from None
    studio.annotator.warm_map = True  # a long-lived server: the map's index is built ahead
    # Biotite reads its atom-radius table on first use (1-3 s); pay it at start, not on /inspect.
    threading.Thread(target=load_radius_table, daemon=True).start()
    page = build_page(studio, threedmol.script_url(local_js), args.max_batch_records, args.max_batch_folds)
    page.queue(default_concurrency_limit=4, max_size=args.max_queue)
    page.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        css=page_css(),
        head=page_head(),  # inline scripts: PAE selection <-> 3D viewer, shared links (no CDN)
        max_file_size="5mb",
        footer_links=["api", "settings"],
    )


if __name__ == "__main__":
    main()
