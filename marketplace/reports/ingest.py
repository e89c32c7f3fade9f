"""Reading report rows from a request: one JSON object, a JSON array, or CSV. All or nothing."""

from __future__ import annotations

import csv
import io

import marshmallow as ma
from flask import request

from ..errors import ServiceError, Unprocessable
from ..web.problems import pointer_errors
from ..web.schemas import text_input

MAX_ROWS = 5000

# CSV header -> how a row becomes the JSON shape the schema expects.
CSV_MONEY = {"amount", "loss", "compensated", "deductions"}
OPTIONAL = ("description",)  # columns a CSV may leave out (a route may name others)


class UnsupportedMediaType(ServiceError):
    status = 415
    title = "Unsupported media type"


def _csv_rows(text: str, columns: list[str], optional: tuple[str, ...] = OPTIONAL) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _rows(reader, columns, optional)
    except csv.Error as e:  # e.g. a bare CR inside an unquoted field
        raise Unprocessable(f"the CSV cannot be read at line {reader.line_num}: {e}",
                            [{"line": reader.line_num, "detail": str(e)}]) from None


def _rows(reader: csv.DictReader, columns: list[str], optional: tuple[str, ...] = OPTIONAL) -> list[dict]:
    header = reader.fieldnames or []
    expected = set(columns) | {"currency"}
    missing = sorted(c for c in expected if c not in header and c not in optional)
    extra = sorted(set(header) - expected - set(optional))
    if missing or extra:
        problems = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + \
                   ([f"unknown column(s) {', '.join(extra)}"] if extra else [])
        raise Unprocessable(f"bad CSV header: expected {', '.join([*columns, 'currency'])}",
                            [{"line": 1, "detail": d} for d in problems])
    rows = []
    for rec in reader:
        row: dict = {}
        for k, v in rec.items():
            if k is None:
                row["_extra"] = v
            elif k in CSV_MONEY and k in optional and not (v or "").strip():
                continue  # an optional amount left empty: not given
            elif k in CSV_MONEY:
                row[k] = {"amount": (v or "").strip(), "currency": (rec.get("currency") or "").strip()}
            elif k != "currency" and v not in (None, ""):
                row[k] = v.strip()
        rows.append(row)
    return rows


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("CSV must be UTF-8") from None


def read_rows(columns: list[str], csv_file: bytes | None = None,
              optional: tuple[str, ...] = OPTIONAL) -> tuple[list[dict], bool]:
    """The raw rows of the request (or of an uploaded CSV file), and whether it was a batch (array or CSV)."""
    if csv_file is not None:
        return _csv_rows(_decode(csv_file), columns, optional), True
    ctype = request.mimetype
    if ctype == "text/csv":
        return _csv_rows(_decode(request.get_data()), columns, optional), True
    if ctype != "application/json":
        raise UnsupportedMediaType("send application/json (one object or an array) or text/csv, "
                                   f"not {ctype or 'nothing'}")
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        return [body], False
    if isinstance(body, list):
        return body, True
    raise Unprocessable("the body must be a JSON object or an array of objects")


def load_rows(schema: ma.Schema, columns: list[str], csv_file: bytes | None = None,
              optional: tuple[str, ...] = OPTIONAL) -> tuple[list[dict], bool]:
    """Validate every row (of the request, or of `csv_file`, an uploaded file's bytes); raise one 422 naming
    every bad field of every bad row, with its CSV line. `optional`: CSV columns that may be left out."""
    raw, batch = read_rows(columns, csv_file, optional)
    is_csv = csv_file is not None or request.mimetype == "text/csv"
    if not raw:
        raise Unprocessable("no rows")
    if len(raw) > MAX_ROWS:
        raise Unprocessable(f"at most {MAX_ROWS} rows per request")
    loaded, errors = [], []
    for i, item in enumerate(raw):
        prefix = f"#/{i}" if batch else "#"
        if not isinstance(item, dict):
            errors.append({"pointer": prefix, "detail": "must be an object"})
            continue
        if "_extra" in item:
            errors.append({"pointer": prefix, "detail": "too many CSV fields", "line": i + 2})
            continue
        try:
            if is_csv:  # a CSV field is text: fiscal_year arrives as digits; JSON rows keep JSON's types
                with text_input():
                    loaded.append(schema.load(item))
            else:
                loaded.append(schema.load(item))
        except ma.ValidationError as e:
            for err in pointer_errors(e.messages, prefix):
                if is_csv:
                    err["line"] = i + 2
                errors.append(err)
    if errors:
        raise Unprocessable(f"{len({e['pointer'].split('/')[1] if batch else 0 for e in errors})} bad row(s); "
                            "nothing was recorded", errors)
    return loaded, batch
