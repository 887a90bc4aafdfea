"""The shared input: one text box (sequence or FASTA), a file upload, real example proteins."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "examples"
UPLOAD_TYPES = [".fasta", ".fa", ".faa", ".fas", ".txt"]
MAX_UPLOAD_BYTES = 5 * 1024 * 1024

PLACEHOLDER = (
    "Paste a protein sequence or FASTA, e.g.\n"
    ">my_protein\nMQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG\n"
    "Separate chains with ':' to fold a complex."
)


@dataclass
class SequenceInput:
    text: gr.Textbox
    upload: gr.File


def read_upload(path: str | None) -> str:
    """Text of an uploaded sequence file, or a `gr.Error` saying why it can't be used."""
    if not path:
        return gr.skip()
    file = Path(path)
    size = file.stat().st_size
    if size == 0:
        raise gr.Error(f"'{file.name}' is empty.")
    if size > MAX_UPLOAD_BYTES:
        raise gr.Error(f"'{file.name}' is {size / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB.")
    data = file.read_bytes()
    if b"\x00" in data:
        raise gr.Error(f"'{file.name}' is a binary file, not FASTA or plain text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise gr.Error(
            f"'{file.name}' is not UTF-8 text (byte {error.start + 1} cannot be decoded)."
        ) from None


def example_files() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.fasta"))


def build_sequence_input() -> SequenceInput:
    """Text box + upload + examples; the upload fills the text box so users see what runs."""
    text = gr.Textbox(
        label="Protein sequence or FASTA",
        placeholder=PLACEHOLDER,
        lines=6,
        max_lines=14,
        elem_id="sequence-input",
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=2):
            files = example_files()
            if files:
                gr.Examples(
                    examples=[[f.read_text()] for f in files],
                    example_labels=[f.stem.replace("_", " ") for f in files],
                    inputs=[text],
                    label="Examples (real proteins)",
                )
        with gr.Column(scale=1, min_width=200):
            upload = gr.File(
                label="…or upload .fasta / .fa / .txt",
                file_types=UPLOAD_TYPES,
                type="filepath",
                height=140,
                elem_id="sequence-upload",
            )
    upload.upload(read_upload, inputs=upload, outputs=text, api_visibility="private")
    return SequenceInput(text=text, upload=upload)
