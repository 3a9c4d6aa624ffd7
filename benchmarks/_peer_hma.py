"""SDV's HMASynthesizer on a folder of related tables; run inside the SDV environment (/work/peer-envs/sdv).

Usage: python _peer_hma.py IN_DIR META.json OUT_DIR TIMING.json
META.json: {"tables": {name: {"primary_key": col|None, "columns": {col: sdtype}}}, "relationships": [[parent, pk, child, fk], ...]}
SDV takes single-column keys only, so a composite foreign key is left out (its columns stay plain columns),
and refuses orphans, so they are dropped first with ``sdv.utils.drop_unknown_references`` as SDV advises.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    src, meta_path, out, timing = (Path(a) for a in sys.argv[1:5])
    from sdv.metadata import Metadata
    from sdv.multi_table import HMASynthesizer

    spec = json.loads(meta_path.read_text())
    tables = {name: pd.read_parquet(src / f"{name}.parquet") for name in spec["tables"]}
    doc: dict = {"tables": {}, "relationships": []}
    for name, t in spec["tables"].items():
        entry = {"columns": {c: {"sdtype": s} for c, s in t["columns"].items()}}
        if t["primary_key"]:
            entry["primary_key"] = t["primary_key"]
        doc["tables"][name] = entry
    for parent, pk, child, fk in spec["relationships"]:
        doc["relationships"].append({"parent_table_name": parent, "parent_primary_key": pk,
                                     "child_table_name": child, "child_foreign_key": fk})
    meta = Metadata.load_from_dict(doc)
    from sdv.utils import drop_unknown_references

    tables = drop_unknown_references(tables, meta)  # what SDV asks for: HMA refuses orphans
    start = time.perf_counter()
    synth = HMASynthesizer(meta)
    synth.fit(tables)
    fitted = time.perf_counter()
    fake = synth.sample_scale(1.0)
    done = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in fake.items():
        frame.to_parquet(out / f"{name}.parquet", index=False)
    timing.write_text(json.dumps({"fit_s": fitted - start, "sample_s": done - fitted}))


if __name__ == "__main__":
    main()
