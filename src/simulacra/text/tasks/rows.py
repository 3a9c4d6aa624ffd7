"""Table rows written by a model under a JSON Schema, with fields conditioned on values sampled in Python.

Small models collapse to the same values ("Software Engineer, USA, 25") unless varied, so numeric,
boolean and categorical fields (``enum``, bounded numbers, or an ``x-sample`` list) are sampled here
with numpy, or taken from a ``conditions`` table (e.g. made by the spec engine), and the model writes only
the free-text fields, several rows per call, consistent with the values it is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.text.engine import Engine
from simulacra.text.result import TaskResult
from simulacra.text.schema import bound_schema, schema_description, to_json_schema, token_budget, validation_errors, validator
from simulacra.text.tasks import as_engine, call_seed
from simulacra.text.types import ChatRequest


def sampled_fields(schema: dict[str, Any]) -> list[str]:
    """The properties sampled in Python: enums, booleans, bounded numbers, ``x-sample`` lists.

    Examples
    --------
    >>> sampled_fields({"properties": {"age": {"type": "integer", "minimum": 0, "maximum": 9},
    ...                                "bio": {"type": "string"}}})
    ['age']
    """
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type")
        bounded = kind in ("integer", "number") and "minimum" in prop and "maximum" in prop
        if "enum" in prop or "x-sample" in prop or kind == "boolean" or bounded:
            out.append(name)
    return out


def sample_values(schema: dict[str, Any], fields: list[str], n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Sample ``fields`` of ``schema`` for ``n`` rows, vectorized (``x-weights`` weight an enum).

    Examples
    --------
    >>> s = {"properties": {"c": {"enum": ["a", "b"], "x-weights": [1, 0]}}}
    >>> sample_values(s, ["c"], 3, np.random.default_rng(0))["c"].tolist()
    ['a', 'a', 'a']
    """
    cols: dict[str, Any] = {}
    for name in fields:
        prop = schema["properties"][name]
        choices = prop.get("x-sample", prop.get("enum"))
        kind = prop.get("type")
        if choices is not None:
            w = prop.get("x-weights")
            p = None if w is None else np.asarray(w, dtype=float) / float(np.sum(w))
            cols[name] = np.asarray(choices, dtype=object)[rng.choice(len(choices), size=n, p=p)]
        elif kind == "boolean":
            cols[name] = rng.random(n) < 0.5
        elif kind == "integer":
            cols[name] = rng.integers(int(prop["minimum"]), int(prop["maximum"]) + 1, size=n)
        else:
            cols[name] = np.round(rng.uniform(float(prop["minimum"]), float(prop["maximum"]), size=n), 2)
    return pd.DataFrame(cols, index=pd.RangeIndex(n))


def _call_schema(text_schema: dict[str, Any], k: int) -> dict[str, Any]:
    return {"type": "object", "properties": {"rows": {"type": "array", "items": text_schema, "minItems": k, "maxItems": k}},
            "required": ["rows"], "additionalProperties": False}


def _prompt(entity: str, instructions: str, text_schema: dict[str, Any], contexts: list[dict[str, Any]]) -> str:
    lines = [f"Write {len(contexts)} different, realistic {entity} records as JSON: {{\"rows\": [...]}}.",
             f"Each row has these fields: {schema_description(text_schema)}."]
    if instructions:
        lines.append(instructions)
    if any(contexts):
        lines.append("Each row must be consistent with its given facts:")
        lines += [f"Row {i + 1}: " + ", ".join(f"{k}={v}" for k, v in ctx.items()) for i, ctx in enumerate(contexts)]
    lines.append("Be specific and varied; keep each text field short.")
    return "\n".join(lines)


def generate_rows(
    schema: Any,
    n: int | None = None,
    *,
    conditions: pd.DataFrame | None = None,
    entity: str = "table",
    instructions: str = "",
    rows_per_call: int = 4,
    sample: bool = True,
    seed: int = 0,
    retries: int = 2,
    temperature: float = 0.9,
    engine: Engine | None = None,
    backend: Any = None,
) -> TaskResult:
    """Generate ``n`` rows valid under ``schema`` (a JSON Schema dict/file or a pydantic model).

    Fields given in ``conditions`` (one row per output row) or sampled in Python (when ``sample``) are
    fixed; the model writes the rest. Every row is validated against the full schema; rows still
    invalid after ``retries`` are kept with ``_status="invalid"`` and ``_error``.

    Examples
    --------
    >>> schema = {"type": "object", "properties": {"age": {"type": "integer", "minimum": 18, "maximum": 90},
    ...           "job": {"type": "string", "maxLength": 40}}}
    >>> res = generate_rows(schema, 5, backend="fake", seed=1)
    >>> len(res.records), all(18 <= r["age"] <= 90 for r in res.records), res.stages[0].balanced
    (5, True, True)
    """
    full = bound_schema(to_json_schema(schema))
    props = full.get("properties")
    if full.get("type") != "object" or not isinstance(props, dict) or not props:
        raise InputError("The row schema must be an object schema with 'properties'")
    fixed, auto = _fixed_values(full, n, conditions, sample, seed)
    n = len(fixed)
    eng = as_engine(engine, backend)
    text_fields = [f for f in props if f not in fixed.columns]
    res = TaskResult("rows", config={"n": n, "entity": entity, "rows_per_call": rows_per_call, "seed": seed,
                                     "retries": retries, "sampled_fields": auto, "model_fields": text_fields})
    # a frame without columns gives no records at all: a schema of only free-text fields still needs n rows
    contexts = fixed.astype(object).where(fixed.notna(), None).to_dict("records") if len(fixed.columns) else [{} for _ in range(n)]
    if not text_fields:
        res.notes.append("every field was sampled in Python; no model call was needed")
        outputs = [dict(c) for c in contexts]
    else:
        outputs = _generate(eng, full, text_fields, contexts, entity, instructions, rows_per_call, seed, retries, temperature)
    stage = res.stage("generate")
    stage.inputs = n
    check = validator(full)
    for row in outputs:
        if row.get("_status", "ok") == "ok":
            errs = validation_errors({k: v for k, v in row.items() if not k.startswith("_")}, check)
            if errs:
                row.update({"_status": "invalid", "_error": "; ".join(errs)})
        stage.invalid += row.get("_status", "ok") != "ok"
        res.records.append(row)
    stage.outputs = len(res.records)
    res.engine_stats = eng.stats()
    return res


def _fixed_values(full: dict[str, Any], n: int | None, conditions: pd.DataFrame | None, sample: bool,
                  seed: int) -> tuple[pd.DataFrame, list[str]]:
    """The values fixed before the model writes: given ``conditions`` plus fields sampled in Python."""
    props = full["properties"]
    if conditions is not None:
        n = len(conditions) if n is None else n
        if len(conditions) < n:
            raise InputError(f"conditions has {len(conditions)} rows but n={n}; give one row of conditions per output row")
        unknown = [c for c in conditions.columns if c not in props]
        if unknown:
            raise InputError(f"Condition columns {unknown} are not properties of the schema")
    if n is None or n < 1:
        raise InputError("n must be a positive number of rows")
    fixed = conditions.iloc[:n].reset_index(drop=True) if conditions is not None else pd.DataFrame(index=pd.RangeIndex(n))
    auto = [f for f in sampled_fields(full) if f not in fixed.columns] if sample else []
    if auto:
        fixed = pd.concat([fixed, sample_values(full, auto, n, np.random.default_rng(seed))], axis=1)
    return fixed, auto


def _generate(eng: Engine, full: dict[str, Any], text_fields: list[str], contexts: list[dict[str, Any]], entity: str,
              instructions: str, k: int, seed: int, retries: int, temperature: float) -> list[dict[str, Any]]:
    props = full["properties"]
    text_schema = {"type": "object", "properties": {f: props[f] for f in text_fields}, "required": text_fields,
                   "additionalProperties": False}
    k = max(1, int(k))
    chunks = [contexts[i:i + k] for i in range(0, len(contexts), k)]
    requests = []
    for c, chunk in enumerate(chunks):
        call_schema = _call_schema(text_schema, len(chunk))
        requests.append(ChatRequest.user(_prompt(entity, instructions, text_schema, chunk), schema=call_schema,
                                         max_tokens=token_budget(call_schema), temperature=temperature,
                                         seed=call_seed(seed, c)))
    results = eng.structured(requests, retries=retries, label=f"writing {entity} rows")
    out: list[dict[str, Any]] = []
    for chunk, st in zip(chunks, results):
        written = st.value.get("rows", []) if st.ok and isinstance(st.value, dict) else []
        for j, ctx in enumerate(chunk):
            if st.ok and j < len(written) and isinstance(written[j], dict):
                out.append({**ctx, **{f: written[j].get(f) for f in text_fields}})
            else:
                err = "; ".join(st.errors) or "the model wrote fewer rows than asked"
                out.append({**ctx, **{f: None for f in text_fields}, "_status": "invalid", "_error": err,
                            "_raw": st.raw[:2000]})
    return out


__all__ = ["generate_rows", "sample_values", "sampled_fields"]
