"""Training corpora from what an organisation knows: documents (grounded QA and instructions) and APIs
(verified function calls, in :mod:`simulacra.text.calls`), with coverage, decontamination, provenance and
export in the formats trainers read (chat ``messages`` JSONL, chosen/rejected pairs, a Hugging Face
``datasets`` folder with a dataset card)."""
