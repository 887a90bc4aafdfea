"""Open a structure file (PDB or mmCIF, plain or gzip) into per-chain arrays and a `Structure`.

gemmi does the parsing; this module decides what to keep (the first model, the first alternate
location, protein chains, residues with a Cα) and words what it skipped for the user.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import gemmi
import numpy as np

from models.structure.result import Structure

DEFAULT_MAX_RESIDUES = 2_000  # per chain opened; DSSP and the plots grow with L²
MAX_UNCOMPRESSED_BYTES = 500_000_000  # a gzip that inflates past this is refused (a zip bomb)
# atom37: the per-residue atom layout ESMFold/OpenFold use (transformers' residue_constants.atom_types).
# Written out so that opening a file does not import torch; tests check it against transformers.
ATOM37 = (
    "N CA C CB O CG CG1 CG2 OG OG1 SG CD CD1 CD2 ND1 ND2 OD1 OD2 SD CE CE1 CE2 CE3 NE NE1 NE2 OE1 OE2 "
    "CH2 NH1 NH2 OH CZ CZ2 CZ3 NZ OXT"
).split()
_ATOM37_INDEX = {name: i for i, name in enumerate(ATOM37)}
_ATOM_ALIASES = {"SE": "SD"}  # selenomethionine's Se sits where methionine's Sδ does
CA, CB = 1, 3
BACKBONE = (0, 1, 2, 4)  # N, CA, C, O in atom37
PEPTIDE_BOND_MAX = 2.5  # Å between C(i) and N(i+1) beyond which the chain is broken (as DSSP)
# Text that marks a file as a predicted model (its B-factor column holding pLDDT). Upper-cased.
# "PARENT N/A" is what the OpenFold/AlphaFold/ESMFold PDB writer puts before the atoms.
_PREDICTOR_MARKS = ("ALPHAFOLD", "COLABFOLD", "ESMFOLD", "OPENFOLD", "PROTEIN STUDIO", "PARENT N/A")
_LISTED = 8  # how many gaps / names a note spells out before summarising


class StructureFileError(ValueError):
    """A structure file that cannot be used; the message is meant for the user."""


@dataclass(frozen=True, eq=False)
class OpenedChain:
    """One protein chain: residues that have a Cα, in file order."""

    id: str  # author chain id, as in the file
    sequence: str  # one letter per residue; non-standard residues as their parent, else X
    numbers: tuple[int, ...]  # author residue numbers
    insertion_codes: tuple[str, ...]  # "" where none
    b_factors: np.ndarray  # (L,) of the Cα
    atom37: np.ndarray  # (L, 37, 3) float32, Å; zeros where absent
    atom37_mask: np.ndarray  # (L, 37) bool

    @property
    def length(self) -> int:
        return len(self.sequence)

    @property
    def labels(self) -> list[str]:
        """Residue labels as a biologist reads them: number plus insertion code ("52", "52A")."""
        return [f"{n}{i}" for n, i in zip(self.numbers, self.insertion_codes)]

    @property
    def ca(self) -> np.ndarray:
        return self.atom37[:, CA]

    @property
    def cb(self) -> np.ndarray:
        """Cβ, or Cα where there is none (glycine, or a Cβ missing from the file)."""
        return np.where(self.atom37_mask[:, CB, None], self.atom37[:, CB], self.atom37[:, CA])


@dataclass(frozen=True, eq=False)
class OpenedStructure:
    """What a structure file holds, ready for the app: protein chains plus what was handled."""

    name: str
    format: str  # "PDB" or "mmCIF"
    chains: tuple[OpenedChain, ...]
    predicted: bool  # B-factor column is pLDDT (a predicted model), not crystallographic B
    source: str  # what produced the file, in words ("AlphaFold DB model", "X-RAY DIFFRACTION", …)
    notes: tuple[str, ...]  # what was skipped or adjusted, worded for the user
    facts: dict  # the same, as numbers and names (JSON-ready)
    plddt_scale: float = 1.0  # 100 when a predictor wrote pLDDT on 0-1
    _gemmi: gemmi.Structure | None = field(default=None, repr=False)

    @property
    def chain_ids(self) -> list[str]:
        return [c.id for c in self.chains]

    def chain(self, chain_id: str | None = None) -> OpenedChain:
        """The chain named `chain_id`, or the first protein chain."""
        if chain_id is None or chain_id == "":
            return self.chains[0]
        for c in self.chains:
            if c.id == chain_id:
                return c
        raise StructureFileError(
            f"{self.name} has no protein chain '{chain_id}'; its protein chains are "
            f"{', '.join(self.chain_ids)}."
        )

    def summary(self) -> dict:
        """JSON-ready description of the file (what /inspect reports besides the chosen chain)."""
        return {
            "name": self.name,
            "format": self.format,
            "predicted": self.predicted,
            "source": self.source,
            "confidence": "pLDDT" if self.predicted else "B-factor",
            "chains": {c.id: c.length for c in self.chains},
            "sequences": {c.id: c.sequence for c in self.chains},
            "notes": list(self.notes),
            **self.facts,
        }


def read_structure(source: str | Path | bytes, name: str = "") -> OpenedStructure:
    """Open a .pdb/.cif/.mmcif file (path or bytes; gzip detected by its magic bytes)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise StructureFileError(f"Cannot read {name}: {error.strerror or error}.") from None
    else:
        data = bytes(source)
    name = _display_name(name or "structure")
    text = _decode(_gunzip(data, name), name)
    fmt = _detect_format(text, name)
    st, block = _parse(text, fmt, name)
    return _open(st, block, text, fmt, name)


def to_structure(
    opened: OpenedStructure, chain_id: str | None = None, max_residues: int = DEFAULT_MAX_RESIDUES
) -> Structure:
    """One chain as the app's `Structure`, so the viewer, plots and analyses work on it."""
    chain = opened.chain(chain_id)
    if chain.length > max_residues:
        raise StructureFileError(
            f"Chain {chain.id} of {opened.name} has {chain.length:,} residues; the limit is "
            f"{max_residues:,}. Choose a shorter chain."
        )
    kind = "pLDDT" if opened.predicted else "B-factor"
    label = opened.name if len(opened.chains) == 1 else f"{opened.name} chain {chain.id}"
    return Structure(
        id=label,
        chains=(chain.sequence,),
        pdb=_chain_pdb(opened, chain),
        plddt=(chain.b_factors * opened.plddt_scale).astype(np.float32),
        pae=None,
        ptm=None,
        model=opened.source,
        notes=list(opened.notes),
        ca=chain.ca.astype(np.float32),
        cb=chain.cb.astype(np.float32),
        confidence_kind=kind,
        atom37=chain.atom37,
        atom37_mask=chain.atom37_mask,
        chain_names=(chain.id,),
        author_numbers=chain.numbers,
    )


# --- reading ---------------------------------------------------------------------------------


def _display_name(name: str) -> str:
    return Path(str(name)).name[:120]


def _gunzip(data: bytes, name: str) -> bytes:
    if not data.strip():
        raise StructureFileError(f"{name} is empty.")
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        inflater = zlib.decompressobj(wbits=31)
        out = inflater.decompress(data, MAX_UNCOMPRESSED_BYTES)
        if inflater.unconsumed_tail:
            raise StructureFileError(
                f"{name} uncompresses to more than {MAX_UNCOMPRESSED_BYTES // 1_000_000:,} MB; "
                "that is not a single protein structure."
            )
        if not inflater.eof:
            raise zlib.error("the compressed data is truncated")
    except (zlib.error, EOFError, gzip.BadGzipFile) as error:
        raise StructureFileError(
            f"{name} looks gzip-compressed but cannot be uncompressed ({error})."
        ) from None
    if not out.strip():
        raise StructureFileError(f"{name} is empty once uncompressed.")
    return out


def _decode(data: bytes, name: str) -> str:
    sample = data[:65536]
    # Text formats never hold NUL bytes; many control characters mean binary data.
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    if b"\x00" in sample or controls > len(sample) // 100:
        raise StructureFileError(
            f"{name} is not a text structure file (it looks binary). Upload a .pdb, .cif or .mmcif "
            "file, optionally gzip-compressed (.gz)."
        )
    return data.decode("utf-8", errors="replace")


def _detect_format(text: str, name: str) -> str:
    head = text.lstrip()[:200_000]
    if head.startswith("data_") or re.search(r"^_atom_site\.", head, re.MULTILINE):
        return "mmCIF"
    if re.search(r"^(ATOM  |HETATM)", text, re.MULTILINE):
        return "PDB"
    raise StructureFileError(
        f"{name} is neither a PDB file (no ATOM records) nor an mmCIF file (no data_ block with "
        "_atom_site). Upload a .pdb, .cif or .mmcif file."
    )


def _parse(text: str, fmt: str, name: str) -> tuple[gemmi.Structure, gemmi.cif.Block | None]:
    try:
        if fmt == "PDB":
            return gemmi.read_pdb_string(text), None
        block = gemmi.cif.read_string(text).sole_block()
        return gemmi.make_structure_from_block(block), block
    except (RuntimeError, ValueError, IndexError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else "unknown error"
        detail = detail[:300].rstrip(":. ")
        raise StructureFileError(f"{name} cannot be read as {fmt}: {detail}.") from None


def _open(st: gemmi.Structure, block, text: str, fmt: str, name: str) -> OpenedStructure:
    if len(st) == 0:
        raise StructureFileError(f"{name} has no atoms (no ATOM/HETATM records in its first model).")
    notes: list[str] = []
    facts: dict = {}
    if len(st) > 1:
        notes.append(f"{len(st)} models in the file; the first is used.")
        facts["models"] = len(st)
        while len(st) > 1:
            del st[1]
    st.setup_entities()
    model = st[0]

    altloc_residues = sum(1 for ch in model for r in ch if any(a.altloc != "\0" for a in r))
    if altloc_residues:
        st.remove_alternative_conformations()  # keeps the first conformer, of atoms and of residues
        notes.append(f"{altloc_residues} residues with alternate locations: the first location is kept.")
    facts["alternate_location_residues"] = altloc_residues
    st.remove_hydrogens()

    waters = 0
    ligands: dict[str, int] = {}
    skipped_chains: list[str] = []
    protein_parts: dict[str, list[gemmi.Residue]] = {}
    for ch in model:
        polymer = ch.get_polymer()
        kind = polymer.check_polymer_type() if len(polymer) else gemmi.PolymerType.Unknown
        waters += sum(1 for r in ch if r.is_water())
        for r in ch.get_ligands():
            ligands[r.name] = ligands.get(r.name, 0) + 1
        if not len(polymer):
            continue
        if kind in (gemmi.PolymerType.PeptideL, gemmi.PolymerType.PeptideD):
            protein_parts.setdefault(ch.name, []).extend(polymer)
        elif ch.name not in protein_parts:
            skipped_chains.append(f"{ch.name} ({_polymer_words(kind)})")
    if waters:
        notes.append(f"{waters} water molecules skipped.")
    if ligands:
        notes.append(f"Heteroatoms/ligands skipped: {_names(ligands)}.")
    if skipped_chains:
        notes.append(f"Chains that are not protein skipped: {', '.join(skipped_chains)}.")
    facts.update(
        waters=waters,
        ligands=sorted(ligands),
        non_protein_chains=skipped_chains,
    )
    if not protein_parts:
        raise StructureFileError(
            f"{name} has no protein chain"
            + (f" (only {', '.join(skipped_chains)})" if skipped_chains else "")
            + (f"; it holds {_names(ligands)}" if ligands else "")
            + ". Open a file with at least one protein chain."
        )

    chains: list[OpenedChain] = []
    nonstandard: dict[str, str] = {}
    insertions = 0
    gaps: list[str] = []
    no_ca: list[str] = []
    for chain_id, residues in protein_parts.items():
        chain, chain_gaps, chain_no_ca = _chain_arrays(chain_id, residues, nonstandard)
        if chain is None:
            continue
        chains.append(chain)
        insertions += sum(1 for i in chain.insertion_codes if i)
        gaps += chain_gaps
        no_ca += chain_no_ca
        entity = st.get_entity_of(model[chain_id].get_polymer()) if model.find_chain(chain_id) else None
        full = len(entity.full_sequence) if entity is not None else 0
        if full > chain.length:
            notes.append(
                f"Chain {chain_id}: the file's full sequence (SEQRES) has {full} residues, "
                f"{chain.length} have coordinates; only those are used."
            )
    if not chains:
        raise StructureFileError(f"{name} has no protein residue with a Cα atom.")
    if nonstandard:
        notes.append(
            "Non-standard residues: "
            + ", ".join(f"{k}→{v}" for k, v in sorted(nonstandard.items()))
            + (" (X: no standard parent known)" if "X" in nonstandard.values() else "")
            + "."
        )
    if insertions:
        notes.append(f"{insertions} residues with insertion codes (numbered like 52A); kept in order.")
    if gaps:
        shown = "; ".join(gaps[:_LISTED]) + (
            f"; and {len(gaps) - _LISTED} more" if len(gaps) > _LISTED else ""
        )
        notes.append(f"Missing residues (chain breaks): {shown}.")
    if no_ca:
        notes.append(f"Residues without a Cα atom skipped: {', '.join(no_ca[:_LISTED])}.")
    facts.update(
        non_standard_residues=nonstandard,
        insertion_codes=insertions,
        gaps=gaps,
        residues_without_ca=no_ca,
    )

    predicted, source, scale = _provenance(st, block, text, chains, fmt)
    if scale != 1.0:
        notes.append("pLDDT was written on 0-1; shown on 0-100.")
    return OpenedStructure(
        name=name,
        format=fmt,
        chains=tuple(chains),
        predicted=predicted,
        source=source,
        notes=tuple(notes),
        facts=facts,
        plddt_scale=scale,
        _gemmi=st,
    )


def _chain_arrays(
    chain_id: str, residues: list[gemmi.Residue], nonstandard: dict[str, str]
) -> tuple[OpenedChain | None, list[str], list[str]]:
    letters, numbers, icodes, bfac, coords, masks = [], [], [], [], [], []
    no_ca: list[str] = []
    for r in residues:
        ca = r.find_atom("CA", "*")
        label = f"{chain_id}{r.seqid.num}{r.seqid.icode.strip()}"
        if ca is None:
            no_ca.append(f"{label} {r.name}")
            continue
        letters.append(_one_letter(r.name, nonstandard))
        numbers.append(r.seqid.num)
        icodes.append(r.seqid.icode.strip())
        bfac.append(ca.b_iso)
        xyz = np.zeros((len(ATOM37), 3), dtype=np.float32)
        mask = np.zeros(len(ATOM37), dtype=bool)
        for atom in r:
            index = _ATOM37_INDEX.get(_ATOM_ALIASES.get(atom.name, atom.name))
            if index is not None and not mask[index]:
                xyz[index] = (atom.pos.x, atom.pos.y, atom.pos.z)
                mask[index] = True
        coords.append(xyz)
        masks.append(mask)
    if not letters:
        return None, [], no_ca
    atom37, atom37_mask = np.stack(coords), np.stack(masks)
    chain = OpenedChain(
        id=chain_id,
        sequence="".join(letters),
        numbers=tuple(numbers),
        insertion_codes=tuple(icodes),
        b_factors=np.asarray(bfac, dtype=np.float32),
        atom37=atom37,
        atom37_mask=atom37_mask,
    )
    return chain, _gaps(chain), no_ca


def _one_letter(residue_name: str, nonstandard: dict[str, str]) -> str:
    info = gemmi.find_tabulated_residue(residue_name)
    code = info.one_letter_code if info is not None else " "
    if info is not None and info.is_standard() and code.isupper():
        return code
    # gemmi writes a non-standard residue's parent in lower case (MSE -> 'm'); none known -> X.
    letter = code.upper() if code.strip() and code.upper() in "ACDEFGHIKLMNPQRSTVWY" else "X"
    nonstandard[residue_name] = letter
    return letter


def _gaps(chain: OpenedChain) -> list[str]:
    """Chain breaks: consecutive residues whose peptide bond is missing (C-N too far apart)."""
    mask, xyz = chain.atom37_mask, chain.atom37
    gaps = []
    for i in range(1, chain.length):
        if mask[i - 1, 2] and mask[i, 0]:
            broken = np.linalg.norm(xyz[i, 0] - xyz[i - 1, 2]) > PEPTIDE_BOND_MAX
        else:
            broken = chain.numbers[i] - chain.numbers[i - 1] > 1
        if not broken:
            continue
        before, after = chain.labels[i - 1], chain.labels[i]
        missing = chain.numbers[i] - chain.numbers[i - 1] - 1
        what = f"{missing} missing" if missing > 0 else "no numbering gap"
        gaps.append(f"{chain.id} {before}–{after} ({what})")
    return gaps


def _polymer_words(kind) -> str:
    return {
        gemmi.PolymerType.Dna: "DNA",
        gemmi.PolymerType.Rna: "RNA",
        gemmi.PolymerType.DnaRnaHybrid: "DNA/RNA",
    }.get(kind, "not a polypeptide")


def _names(counts: dict[str, int]) -> str:
    items = [f"{k} ×{n}" if n > 1 else k for k, n in sorted(counts.items())]
    return ", ".join(items[:_LISTED]) + (f" and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def _provenance(st, block, text: str, chains: list[OpenedChain], fmt: str) -> tuple[bool, str, float]:
    """Predicted model or not, in words, and the factor that puts its pLDDT on 0-100.

    Rule: the file names a structure predictor (AlphaFold, ColabFold, ESMFold, OpenFold, this
    app, or OpenFold's "PARENT N/A" line) in its header, or is an mmCIF with `_ma_qa_metric`
    (ModelCIF quality scores), AND every Cα B-factor lies in 0..100. A crystal structure's
    B-factors are never read as pLDDT, whatever their values.
    """
    b = np.concatenate([c.b_factors for c in chains])
    in_range = bool(b.min() >= 0.0 and b.max() <= 100.0)
    if fmt == "PDB":
        header = "\n".join(ln for ln in text[:200_000].splitlines() if not ln.startswith(("ATOM", "HETATM")))
        marked = next((m for m in _PREDICTOR_MARKS if m in header.upper()), None)
        modelcif = False
    else:
        marked = None
        modelcif = block.find_mmcif_category("_ma_qa_metric.") is not None and bool(
            len(block.find_mmcif_category("_ma_qa_metric."))
        )
        software = " ".join(
            block.find_values(tag).str(i)
            for tag in ("_software.name", "_struct.title", "_ma_model_list.model_name")
            for i in range(len(block.find_values(tag)))
        ).upper()
        marked = next((m for m in _PREDICTOR_MARKS if m in software), None)
    predicted = in_range and (marked is not None or modelcif)
    if predicted:
        words = {
            "ALPHAFOLD": "AlphaFold model",
            "COLABFOLD": "ColabFold model",
            "ESMFOLD": "ESMFold model",
            "OPENFOLD": "OpenFold model",
            "PROTEIN STUDIO": "Protein Studio (ESMFold) model",
            "PARENT N/A": "predicted model (OpenFold-style PDB)",
        }
        source = words.get(marked or "", "predicted model (ModelCIF quality scores)")
        scale = 100.0 if b.max() <= 1.0 else 1.0
        return True, source, scale
    method = str(st.info["_exptl.method"]) if "_exptl.method" in st.info else ""
    return False, method or "experimental or unknown origin (B-factors, not pLDDT)", 1.0


def _chain_pdb(opened: OpenedStructure, chain: OpenedChain) -> str:
    """PDB text of one protein chain (first model, first altloc, no waters/ligands) for the viewer."""
    st = opened._gemmi
    out = gemmi.Structure()
    out.cell = st.cell
    out.spacegroup_hm = st.spacegroup_hm
    model = gemmi.Model("1")
    kept = gemmi.Chain(chain.id)
    wanted = set(zip(chain.numbers, chain.insertion_codes))
    for ch in st[0]:
        if ch.name != chain.id:
            continue
        for r in ch.get_polymer():
            if (r.seqid.num, r.seqid.icode.strip()) in wanted:
                kept.add_residue(r)
    model.add_chain(kept)
    out.add_model(model)
    out.setup_entities()
    text = out.make_pdb_string(gemmi.PdbWriteOptions(minimal=True))
    # Anisotropic B records only double the text the page embeds; no viewer here reads them.
    return "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("ANISOU"))
