"""Query engines: DuckDB (embedded, the default) and Spark (``spark_engine.py``), behind one small interface.

An engine loads record files into ``raw_<kind>`` tables, extracts :data:`tables.FIELDS` with one JSON parse per
record, and runs portable SQL (DuckDB's dialect, translated for Spark by sqlglot). Everything after the raw
tables (derivation, malformed counts, the detections) is the same SQL text on every engine.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from typing import Any

from lambdasec.fast_dataclass import dataclass

from .tables import DERIVE, FIELDS, FLOW_COLUMNS, KINDS, MALFORMED, TABLES

MAX_RECORD_BYTES = 256 * 1024 * 1024  # one JSON line or record: far above any CloudTrail record (about 100 KB max)


@dataclass(frozen=True)
class LineFiles:
    """JSON-lines files holding records of one kind and flavour; ``sources`` maps each file to the path reported."""

    kind: str
    flavour: str
    wrapper: str
    compressed: bool
    files: tuple[tuple[str, str], ...]  # (file read, file reported)


@dataclass(frozen=True)
class FlowFiles:
    fields: tuple[str, ...]
    header: bool
    compressed: bool
    files: tuple[str, ...]


def _nested(fields: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    """{"userIdentity": {"arn": "text"}, ...} from the dotted paths."""
    tree: dict[str, Any] = {}
    for _, path, kind in fields:
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = kind
    return tree


def field_selects(fields: Sequence[tuple[str, str, str]], struct: str = "s") -> str:
    return ", ".join(f"{struct}.{'.'.join(_quote(p) for p in path.split('.'))} AS {column}"
                     for column, path, _ in fields)


def _quote(name: str) -> str:
    return f'"{name}"'


class Engine:
    """The shared part: portable SQL in, rows out; building the normalized tables from the raw ones."""

    name = "base"

    def translate(self, sql: str) -> str:
        return sql

    def execute(self, sql: str) -> None:
        raise NotImplementedError

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def table_exists(self, name: str) -> bool:
        raise NotImplementedError

    def load_lines(self, group: LineFiles) -> None:
        raise NotImplementedError

    def load_flows(self, group: FlowFiles, format_id: int) -> None:
        raise NotImplementedError

    def create_table(self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the engine's resources."""

    def loaded_files(self) -> dict[str, tuple[int, int]]:
        """Files already in the raw tables (a persistent database): path -> (size, modification time in ns)."""
        return {}

    def forget(self, paths: Sequence[str]) -> None:
        """Drop the raw rows of these files (they changed since a persistent database loaded them)."""

    def record_loaded(self, files: Sequence[tuple[str, int, int, str]]) -> None:
        """Remember (path, size, mtime, kind) of the files just loaded (only a persistent engine needs to)."""

    # -- shared ------------------------------------------------------------------------------------------------
    def extract(self, kind: str) -> None:
        raise NotImplementedError

    def build(self, kind: str) -> None:
        """x_<kind> -> its normalized table (tables.TABLES): derived and typed, replacing the previous one."""
        self.extract(kind)
        self.execute(f"CREATE OR REPLACE TABLE {TABLES[kind]} AS {self.translate(DERIVE[kind])}")

    def finish(self, kind: str) -> None:
        """The load is over: what only served it (staging tables) can go."""

    def malformed(self, kind: str) -> list[tuple[str, int, int]]:
        """(file, records, malformed records) per file of x_<kind>."""
        sql = (f"SELECT file, count(*), sum(CASE WHEN {MALFORMED[kind]} THEN 1 ELSE 0 END) "
               f"FROM x_{kind} GROUP BY file ORDER BY file")
        return [(str(f), int(n), int(bad or 0)) for f, n, bad in self.rows(self.translate(sql))]


class DuckDBEngine(Engine):
    """Records are extracted as they are read (one JSON parse each, in DuckDB's threads) into a staging table
    ``x_<kind>`` holding only the files of this load; :meth:`build` appends their derived rows to the kind's table
    and the staging table is emptied: no raw table is kept beside the normalized one (whose ``raw`` column keeps
    the record), and a persistent database grows by the new files only."""

    name = "duckdb"

    def __init__(self, database: str | None = None, threads: int | None = None) -> None:
        import duckdb

        self.con = duckdb.connect(database or ":memory:")
        self._spill: str | None = None
        if not database:
            # Past its memory limit DuckDB writes what does not fit to temp_directory, by default ".tmp" in the
            # current directory: a user's checkout, maybe read-only, left with gigabytes if the run is killed.
            self._spill = tempfile.mkdtemp(prefix="lambdasec-duckdb-")
            self.con.execute("SET temp_directory = '" + self._spill.replace("'", "''") + "'")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute("SET TimeZone = 'UTC'")
        for kind in KINDS:
            columns = ", ".join(f'"{c}" VARCHAR' for c in _extracted_columns(kind))
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE x_{kind} (file VARCHAR, raw VARCHAR, {columns})")

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def table_exists(self, name: str) -> bool:
        found = self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                 [name]).fetchone()
        return bool(found and found[0])

    def create_table(self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[Any, ...]]) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)})")
        if rows:  # column by column as list parameters: executemany costs a statement per row
            values = [list(column) for column in zip(*rows, strict=True)]
            selects = ", ".join(f"CAST(unnest(${i + 1}) AS {t})" for i, (_, t) in enumerate(columns))
            self.con.execute(f"INSERT INTO {name} SELECT {selects}", values)

    def load_lines(self, group: LineFiles) -> None:
        import json

        self.create_table("load_map", (("path", "VARCHAR"), ("reported", "VARCHAR")), group.files)
        record = "j.json ->> '$.eventJson'" if group.wrapper else "j.json"
        fields = FIELDS[group.kind][group.flavour]
        schema = json.dumps(_duckdb_schema(_nested(fields))).replace("'", "''")
        columns = ", ".join(f'"{c}"' for c, _, _ in fields)
        self.con.execute(
            f"INSERT INTO x_{group.kind} (file, raw, {columns}) "
            f"SELECT file, record, {field_selects(fields)} FROM ("
            f"  SELECT file, record, json_transform(record, '{schema}') AS s FROM ("
            f"    SELECT m.reported AS file, CASE WHEN json_type(j.json) = 'OBJECT' THEN {record} END AS record "
            "    FROM read_json_objects(?, format = 'newline_delimited', filename = true, ignore_errors = true, "
            f"      maximum_object_size = {MAX_RECORD_BYTES}, compression = ?) AS j "
            "    JOIN load_map AS m ON j.filename = m.path))",
            [[path for path, _ in group.files], "gzip" if group.compressed else "uncompressed"])

    def load_flows(self, group: FlowFiles, format_id: int) -> None:
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE raw_flows AS SELECT filename AS file, CAST(? AS INTEGER) AS format, "
            "line AS record FROM read_csv(?, columns = {'line': 'VARCHAR'}, delim = '\x01', quote = '', "
            "escape = '', header = false, auto_detect = false, filename = true, "
            f"skip = {1 if group.header else 0}, compression = ?) WHERE trim(line) <> ''",
            [format_id, list(group.files), "gzip" if group.compressed else "none"])
        columns = ", ".join(f'"{c}"' for c in _extracted_columns("flows"))
        self.con.execute(f"INSERT INTO x_flows (file, raw, {columns}) "
                         f"SELECT file, raw, {columns} FROM ({flow_extraction({format_id: group.fields})})")
        self.con.execute("DROP TABLE raw_flows")

    def extract(self, kind: str) -> None:
        """Done while loading (load_lines, load_flows)."""

    def build(self, kind: str) -> None:
        table, derive = TABLES[kind], self.translate(DERIVE[kind])
        self.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM ({derive}) LIMIT 0")
        self.execute(f"INSERT INTO {table} BY NAME {derive}")

    def finish(self, kind: str) -> None:
        self.execute(f"DELETE FROM x_{kind}")

    def flow_formats(self) -> dict[int, tuple[str, ...]]:
        if not self.table_exists("flow_formats"):
            return {}
        return {int(i): tuple(str(f).split(" ")) for i, f in self.rows("SELECT id, fields FROM flow_formats")}

    def close(self) -> None:
        self.con.close()
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)

    def loaded_files(self) -> dict[str, tuple[int, int]]:
        self.con.execute("CREATE TABLE IF NOT EXISTS loaded_files (path VARCHAR, size BIGINT, mtime BIGINT, "
                         "kind VARCHAR)")
        return {str(p): (int(s), int(m)) for p, s, m in self.rows("SELECT path, size, mtime FROM loaded_files")}

    def forget(self, paths: Sequence[str]) -> None:
        if paths:
            self.create_table("forgotten", (("path", "VARCHAR"),), [(p,) for p in paths])
            for kind in KINDS:
                if self.table_exists(TABLES[kind]):
                    self.execute(f"DELETE FROM {TABLES[kind]} WHERE file IN (SELECT path FROM forgotten)")

    def record_loaded(self, files: Sequence[tuple[str, int, int, str]]) -> None:
        self.create_table("new_files", (("path", "VARCHAR"), ("size", "BIGINT"), ("mtime", "BIGINT"),
                                        ("kind", "VARCHAR")), files)
        self.execute("DELETE FROM loaded_files WHERE path IN (SELECT path FROM new_files)")
        self.execute("INSERT INTO loaded_files SELECT * FROM new_files")


def _extracted_columns(kind: str) -> list[str]:
    """The columns of x_<kind>: every flavour's fields (flavours share column names)."""
    if kind == "flows":
        return list(dict.fromkeys(FLOW_COLUMNS.values()))
    return list(dict.fromkeys(column for fields in FIELDS[kind].values() for column, _, _ in fields))


def _duckdb_schema(tree: dict[str, Any]) -> dict[str, Any]:
    return {key: _duckdb_schema(value) if isinstance(value, dict) else ("JSON" if value == "json" else "VARCHAR")
            for key, value in tree.items()}


def flow_extraction(formats: dict[int, tuple[str, ...]]) -> str:
    """Portable SQL: x_flows from raw_flows, one SELECT per flow-log format (fields are space separated)."""
    columns = list(dict.fromkeys(FLOW_COLUMNS.values()))
    parts = []
    for format_id, fields in sorted(formats.items()):
        position = {FLOW_COLUMNS[name]: index + 1 for index, name in enumerate(fields) if name in FLOW_COLUMNS}
        # a line without exactly the format's fields is malformed: every column NULL
        guard = f"len(string_split(trim(record), ' ')) = {len(fields)}"
        selects = []
        for column in columns:
            value = (f"CASE WHEN {guard} THEN NULLIF(split_part(record, ' ', {position[column]}), '-') END"
                     if column in position else "CAST(NULL AS VARCHAR)")
            selects.append(f'{value} AS "{column}"')
        parts.append(f"SELECT file, record AS raw, {', '.join(selects)} FROM raw_flows WHERE format = {format_id}")
    if not parts:
        return ("SELECT CAST(NULL AS VARCHAR) AS file, CAST(NULL AS VARCHAR) AS raw, "
                + ", ".join(f'CAST(NULL AS VARCHAR) AS "{c}"' for c in columns) + " WHERE 1 = 0")
    return " UNION ALL ".join(parts)
