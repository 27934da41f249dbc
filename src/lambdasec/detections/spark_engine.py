"""The Apache Spark engine: the same tables and the same portable SQL as DuckDB, at cluster scale.

Tables are temporary views of one Spark session (a fresh ``newSession()`` per engine, so two engines never see
each other's views); a table made by ``CREATE OR REPLACE TABLE`` is materialized once (persisted, memory then
disk) so later queries do not compute it again. Portable SQL (DuckDB's dialect) is translated by sqlglot, with
the few fix-ups its DuckDB -> Spark translation needs for these queries (:meth:`SparkEngine.translate`).

Local files are read with Spark's text reader (gzip by the ``.gz`` suffix: a file whose name does not tell its
compression is read through a link that does). Paths Spark reads natively (``s3a://``, ``hdfs://``, ``file://``
...) are read by :func:`load_remote_cloudtrail`: CloudTrail's S3 export documents, straight from the bucket.

pyspark and sqlglot are imported only when an engine is made (``pip install 'lambdasec[spark]'``; Java 17+).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdasec.fast_dataclass import dataclass, field

from ..model.inventory import CoverageGap
from ..model.location import Location
from .engines import Engine, FlowFiles, LineFiles, _nested, flow_extraction
from .tables import FIELDS, KINDS

if TYPE_CHECKING:
    from ..model.findings import Report
    from .runner import DetectSettings

_CREATE = re.compile(r"^\s*CREATE\s+OR\s+REPLACE\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s+AS\s+(.+)$", re.I | re.S)
# Spark SQL types of the SQL types create_table is given
_TYPES = {"VARCHAR": "STRING", "TEXT": "STRING", "BIGINT": "BIGINT", "INTEGER": "INT", "INT": "INT",
          "BOOLEAN": "BOOLEAN", "DOUBLE": "DOUBLE", "TIMESTAMP": "TIMESTAMP"}
# Paths handed to Spark as they are: anything else is read through a link with a plain name (Hadoop globs
# '*?[{', rejects ':' in names, URL-encodes spaces and '%', and skips files whose name starts with '_' or '.').
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9._/+=@,~-]+$")
# Suffixes by which Hadoop decompresses a file
_CODEC_SUFFIXES = (".gz", ".bz2", ".deflate", ".lz4", ".snappy", ".zst", ".zstd")
# A line holding exactly one JSON object (and nothing after it), as DuckDB's read_json_objects requires
_IS_OBJECT = r"(value RLIKE '^\\s*\\{' AND json_array_length(concat('[', value, ']')) = 1)"
_BLANK = r"value RLIKE '^\\s*$'"
# The JVM's logging when the engine starts it: errors only (Spark's own default prints warnings at start-up; a root
# level other than WARN makes it print that it set WARN), and not the failed tasks of a file that cannot be read
# (the load fails with the reason, and the file is a coverage gap)
_LOG4J = """rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.filter.threshold.type = ThresholdFilter
appender.console.filter.threshold.level = error
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.executor.name = org.apache.spark.executor.Executor
logger.executor.level = fatal
logger.tasks.name = org.apache.spark.scheduler.TaskSetManager
logger.tasks.level = fatal
"""
_MAP_FILES = 512  # up to this many files, a load names lines through a literal map rather than a join
# URI schemes Spark reads natively: inputs given so go to load_remote_cloudtrail
REMOTE_SCHEMES = ("s3a", "s3", "s3n", "gs", "abfs", "abfss", "wasb", "wasbs", "hdfs", "file")


def driver_memory() -> str:
    """The local driver's heap: $LAMBDASEC_SPARK_DRIVER_MEMORY, else half the machine's memory (1 to 16 GiB)."""
    configured = os.environ.get("LAMBDASEC_SPARK_DRIVER_MEMORY")
    if configured:
        return configured
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "2g"
    return f"{max(1, min(16, total // 2**31))}g"


class SparkEngine(Engine):
    name = "spark"

    def __init__(self, master: str = "local[*]", session: Any = None) -> None:
        try:
            from pyspark import SparkContext
            from pyspark.sql import SparkSession
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ImportError("the Spark engine needs pyspark and sqlglot: pip install 'lambdasec[spark]'") from exc
        import sqlglot  # noqa: F401  # fail now, not at the first query

        self._own = False
        self._scratch: Path | None = None  # the engine's files: links to inputs, the JVM's logging settings
        self._link_count = 0
        if session is None:
            builder = (SparkSession.builder.master(master).appName("lambdasec-detect")
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.sql.session.timeZone", "UTC"))
            if SparkContext._active_spark_context is None:  # a JVM of our own, started quiet
                if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
                    raise OSError("the Spark engine needs Java 17 or newer: no java on PATH and no JAVA_HOME")
                self._own = True
                # Python workers must run this interpreter, not whatever python3 comes first on PATH (another
                # minor version is refused); the JVM reads it from the environment when it starts
                os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
                settings = self._scratch_dir() / "log4j2.properties"
                settings.write_text(_LOG4J, encoding="utf-8")
                builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={settings}")
            if master.startswith("local"):
                builder = builder.config("spark.sql.shuffle.partitions", "4")
                if self._own:  # everything runs in the driver: Spark's 1g default holds a few 100,000 events
                    builder = builder.config("spark.driver.memory", driver_memory())
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
        self._base = session
        # own temporary views and settings; the SparkContext (and the JVM) is shared
        self.spark = session.newSession()
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        partitions = str(session.conf.get("spark.sql.shuffle.partitions"))
        if str(session.sparkContext.master).startswith("local") and partitions == "200":  # Spark's default
            partitions = "4"
        self.spark.conf.set("spark.sql.shuffle.partitions", partitions)
        self._views: dict[str, Any] = {}  # view name -> its DataFrame
        self._persisted: dict[str, Any] = {}  # view name -> DataFrame persisted for it
        self._raw: dict[str, list[Any]] = {kind: [] for kind in KINDS}  # the raw DataFrames of each kind
        self._kept: list[Any] = []  # DataFrames read from files, persisted
        for kind in KINDS:
            self._register_raw(kind)

    # -- SQL ------------------------------------------------------------------------------------------------------
    def translate(self, sql: str) -> str:
        """Portable SQL (DuckDB's dialect) -> Spark SQL, through sqlglot, plus fix-ups of its translation:

        - ``TIMESTAMP`` is DuckDB's time without zone, which sqlglot writes ``TIMESTAMP_NTZ``: here it stays
          ``TIMESTAMP`` (the session's zone is UTC; :meth:`rows` hands them to Python as UTC times without zone);
        - ``to_timestamp(seconds)``: ``timestamp_seconds`` (sqlglot formats the time as text and parses it back);
        - ``len(string_split(...))``: ``size(split(...))`` (Spark's ``length`` does not take an array);
        - ``string_agg(DISTINCT x, sep [ORDER BY x])``: ``array_join(array_sort(collect_set(x)), sep)`` (Spark's
          ``listagg(DISTINCT ..) WITHIN GROUP`` fails beside another distinct aggregate).

        The rest is sqlglot's own: ``->>`` -> ``get_json_object``, ``regexp_matches`` -> ``RLIKE``,
        ``regexp_replace(.., 'g')`` -> ``regexp_replace`` (Spark always replaces every match: the portable SQL uses
        the one-match form only with patterns anchored at the end), ``strpos`` -> ``locate``, ``string_agg`` ->
        ``listagg``, ``regexp_extract`` group numbers, string escapes.
        """
        import sqlglot

        tree = sqlglot.parse_one(sql, read="duckdb")
        return tree.transform(_spark_fixup).sql(dialect="spark")

    def execute(self, sql: str) -> None:
        created = _CREATE.match(sql)
        if created is None:
            self.spark.sql(sql)
            return
        name, select = created.group(1), created.group(2)
        self._materialize(name, self.spark.sql(select))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampType

        frame = self.spark.sql(sql)
        fields = frame.schema.fields
        if any(isinstance(f.dataType, TimestampType) for f in fields):
            # Python gets a TIMESTAMP in the Python process's zone: as a time without zone it gets UTC's
            frame = frame.toDF(*[f"c{i}" for i in range(len(fields))])
            frame = frame.select(*[F.col(f"c{i}").cast("timestamp_ntz") if isinstance(f.dataType, TimestampType)
                                   else F.col(f"c{i}") for i, f in enumerate(fields)])
        return [tuple(row) for row in frame.collect()]

    def table_exists(self, name: str) -> bool:
        return name in self._views

    def create_table(self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[Any, ...]]) -> None:
        schema = ", ".join(f"`{column}` {_spark_type(kind)}" for column, kind in columns)
        times = [i for i, (_, kind) in enumerate(columns) if _spark_type(kind) == "TIMESTAMP"]
        data = [_utc(row, times) for row in rows] if times else [tuple(row) for row in rows]
        self._register(name, self.spark.createDataFrame(data, schema))

    # -- loading -------------------------------------------------------------------------------------------------
    def load_lines(self, group: LineFiles) -> None:
        """One row per non-blank line; ``record`` is NULL unless the line is one JSON object (as DuckDB's
        read_json_objects with ignore_errors: a broken line is a malformed record)."""
        from pyspark.sql import functions as F

        names = {self._readable(read, group.compressed): reported for read, reported in group.files}
        record = "get_json_object(value, '$.eventJson')" if group.wrapper else "value"
        flavour = group.flavour.replace("'", "''")
        lines = self._lines(names).where(f"NOT ({_BLANK})")
        frame = lines.select(F.col("file"), F.expr(f"'{flavour}'").alias("flavour"),
                             F.expr(f"CASE WHEN {_IS_OBJECT} THEN {record} END").alias("record"))
        self._append(group.kind, frame)

    def load_flows(self, group: FlowFiles, format_id: int) -> None:
        """One row per non-blank line; the header line (``group.header``: each file's first line, the field
        names) is left out."""
        from pyspark.sql import functions as F

        names = {self._readable(path, group.compressed): path for path in group.files}
        lines = self._lines(names).where("trim(value) <> ''")
        if group.header:
            header = " ".join(group.fields).replace("'", "''")
            lines = lines.where(f"trim(regexp_replace(value, '\\\\s+', ' ')) <> '{header}'")
        frame = lines.select(F.col("file"), F.lit(format_id).cast("int").alias("format"),
                             F.col("value").alias("record"))
        self._append("flows", frame)

    def extract(self, kind: str) -> None:
        self._register_raw(kind)
        if kind == "flows":
            formats = {int(i): tuple(str(f).split(" ")) for i, f in self.rows("SELECT id, fields FROM flow_formats")
                       } if self.table_exists("flow_formats") else {}
            self.execute(f"CREATE OR REPLACE TABLE x_flows AS {self.translate(flow_extraction(formats))}")
            return
        parts = []
        for flavour, fields in FIELDS[kind].items():
            schema = _spark_schema(_nested(fields)).replace("'", "\\'")
            selects = ", ".join(f"s.{'.'.join(f'`{p}`' for p in path.split('.'))} AS `{column}`"
                                for column, path, _ in fields)
            parts.append(f"SELECT file, record AS raw, {selects} FROM "
                         f"(SELECT file, record, from_json(record, '{schema}') AS s FROM raw_{kind} "
                         f"WHERE flavour = '{flavour}')")
        self.execute(f"CREATE OR REPLACE TABLE x_{kind} AS {' UNION ALL '.join(parts)}")

    def close(self) -> None:
        with contextlib.suppress(Exception):  # best effort: the JVM may be gone (it failed, or ran out of memory)
            for frame in [*self._persisted.values(), *self._kept]:
                frame.unpersist()
            for name in self._views:
                self.spark.catalog.dropTempView(name)
        self._persisted.clear()
        self._kept.clear()
        self._views.clear()
        self._raw = {kind: [] for kind in KINDS}
        if self._own:
            with contextlib.suppress(Exception):
                self._base.stop()
            self._own = False
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # -- internals -----------------------------------------------------------------------------------------------
    def _register(self, name: str, frame: Any) -> None:
        frame.createOrReplaceTempView(name)
        self._views[name] = frame

    def _materialize(self, name: str, frame: Any) -> None:
        """Compute the table once (kept in memory, spilled to disk) and register it."""
        from pyspark import StorageLevel

        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        frame.count()
        old = self._persisted.pop(name, None)
        self._register(name, frame)
        self._persisted[name] = frame
        if old is not None:
            old.unpersist()

    def _append(self, kind: str, frame: Any) -> None:
        """Read now (a file Spark cannot read fails this load, as DuckDB's), keep, and show in raw_<kind>."""
        self._add_raw(kind, self._keep(frame))

    def _keep(self, frame: Any) -> Any:
        """The frame computed now and kept (memory, then disk); a failure is an OSError with Spark's reason."""
        from pyspark import StorageLevel

        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            frame.count()
        except Exception as exc:
            frame.unpersist()
            raise OSError(_reason(exc)) from None
        self._kept.append(frame)
        return frame

    def _add_raw(self, kind: str, frame: Any) -> None:
        self._raw[kind].append(frame)
        self._register_raw(kind)

    def _register_raw(self, kind: str) -> None:
        frames = self._raw[kind]
        if not frames:
            columns = ("file STRING, format INT, record STRING" if kind == "flows" else
                       "file STRING, flavour STRING, record STRING")
            self._register(f"raw_{kind}", self.spark.createDataFrame([], columns))
            return
        union = frames[0]
        for frame in frames[1:]:
            union = union.unionByName(frame)
        self._register(f"raw_{kind}", union)

    def _lines(self, names: dict[str, str]) -> Any:
        """The files' lines (``value``, without a byte order mark) with ``file``: the path reported for the file
        the line came from (``names``: path read -> path reported)."""
        from pyspark.sql import functions as F

        value = F.col("value")
        keyed = self.spark.read.text(list(names)).select(
            F.regexp_replace(F.input_file_name(), "^file:(//)?", "").alias("read"),
            F.when(value.startswith("\ufeff"), F.expr("substring(value, 2)")).otherwise(value).alias("value"))
        if len(names) <= _MAP_FILES:  # a literal map: no join, no broadcast
            mapping = F.create_map(*[F.lit(text) for pair in sorted(names.items()) for text in pair])
            reported = F.try_element_at(mapping, F.col("read"))
        else:
            files = self.spark.createDataFrame(sorted(names.items()), "read STRING, file STRING")
            keyed = keyed.join(F.broadcast(files), "read", "left")
            reported = F.col("file")
        return keyed.select(F.coalesce(reported, F.col("read")).alias("file"), "value")

    def _scratch_dir(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="lambdasec-spark-"))
        return self._scratch

    def _readable(self, path: str, compressed: bool) -> str:
        """An absolute path Spark reads as it should (gzip or not, by its suffix) and names back unchanged."""
        absolute = os.path.abspath(path)
        name = os.path.basename(absolute)
        lower = name.lower()
        suffix_ok = lower.endswith(".gz") if compressed else not lower.endswith(_CODEC_SUFFIXES)
        if suffix_ok and _PLAIN_PATH.match(absolute) and not name.startswith(("_", ".")):
            return absolute
        self._link_count += 1
        link = self._scratch_dir() / f"{self._link_count}{'.gz' if compressed else '.txt'}"
        try:
            os.symlink(absolute, link)
        except OSError:
            shutil.copyfile(absolute, link)
        return str(link)


def _spark_fixup(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.TIMESTAMPNTZ:
        return exp.DataType.build("TIMESTAMP")
    if isinstance(node, exp.UnixToTime) and not node.args.get("scale") and not node.args.get("format"):
        return exp.Anonymous(this="TIMESTAMP_SECONDS", expressions=[node.this])
    if isinstance(node, exp.Length) and isinstance(node.this, (exp.Split, exp.StringToArray)):
        return exp.ArraySize(this=node.this)
    if isinstance(node, exp.GroupConcat):
        return _distinct_concat(node)
    return node


def _distinct_concat(node: Any) -> Any:
    """``string_agg(DISTINCT x, sep [ORDER BY x])``: the distinct values sorted and joined (Spark's
    ``listagg(DISTINCT ..) WITHIN GROUP`` fails beside another distinct aggregate: ClassCastException, Spark 4.x)."""
    from sqlglot import exp

    inner, order = node.this, None
    if isinstance(inner, exp.Order):
        inner, order = inner.this, inner.expressions
    if not isinstance(inner, exp.Distinct) or len(inner.expressions) != 1:
        return node
    value = inner.expressions[0]
    if order and (len(order) != 1 or order[0].this != value or order[0].args.get("desc")):
        return node  # another order: left to listagg
    separator = node.args.get("separator") or exp.Literal.string(",")
    values = exp.Anonymous(this="ARRAY_SORT", expressions=[exp.Anonymous(this="COLLECT_SET", expressions=[value])])
    return exp.Anonymous(this="ARRAY_JOIN", expressions=[values, separator])


def _spark_type(kind: str) -> str:
    base = kind.strip().upper()
    if base not in _TYPES:
        raise ValueError(f"no Spark type for {kind!r}")
    return _TYPES[base]


def _spark_schema(tree: dict[str, Any]) -> str:
    """Spark DDL of the nested fields, every leaf text (nested JSON values are kept as their JSON text)."""
    return ", ".join(f"`{key}` STRUCT<{_spark_schema(value)}>" if isinstance(value, dict) else f"`{key}` STRING"
                     for key, value in tree.items())


def _utc(row: Sequence[Any], times: list[int]) -> tuple[Any, ...]:
    """A time without zone is UTC (pyspark would read it in the Python process's zone)."""
    values = list(row)
    for i in times:
        if isinstance(values[i], datetime) and values[i].tzinfo is None:
            values[i] = values[i].replace(tzinfo=timezone.utc)
    return tuple(values)


def _reason(exc: BaseException) -> str:
    """The first line of a Spark error, without the JVM's stack."""
    text = str(exc).strip()
    java = getattr(exc, "java_exception", None)
    if java is not None:
        cause = java
        while cause.getCause() is not None:
            cause = cause.getCause()
        text = str(cause.toString())
    return text.splitlines()[0] if text else type(exc).__name__


# -- inputs Spark reads natively ----------------------------------------------------------------------------------
def is_remote(path: str | os.PathLike[str]) -> bool:
    """A URI Spark reads itself (``s3a://bucket/AWSLogs/``, ``hdfs://...``, ``file:///...``), not a local path."""
    scheme, sep, _ = str(path).partition("://")
    return bool(sep) and scheme.lower() in REMOTE_SCHEMES


@dataclass
class RemoteLoad:
    files: list[str] = field(default_factory=list)  # files read, as Spark names them (URIs)
    gaps: list[CoverageGap] = field(default_factory=list)


def load_remote_cloudtrail(engine: SparkEngine, uris: Sequence[str]) -> RemoteLoad:
    """CloudTrail's S3 export documents (``{"Records": [...]}``, gzip'd or not, in folders searched recursively)
    into raw_cloudtrail, read by Spark where they are: one JSON parse per document, records as their JSON text.

    A file without a Records array (a digest file, anything else) gives no record; a document that names Records
    but cannot be parsed (truncated, say) is a gap, as a URI Spark cannot read; an element of Records that is no
    JSON object is a malformed record (a NULL record, as a broken line of a JSON-lines file)."""
    from pyspark.sql import functions as F

    result = RemoteLoad()
    for uri in uris:
        try:
            documents = engine.spark.read.option("recursiveFileLookup", "true").text([uri], wholetext=True)
            records = documents.select(
                F.input_file_name().alias("file"),
                F.from_json("value", "Records ARRAY<STRING>").getField("Records").alias("records"),
                F.col("value").contains('"Records"').alias("named"))
            rows = engine._keep(records.select(
                "file", F.expr("records IS NULL AND named").alias("broken"),
                F.explode_outer("records").alias("value"), F.expr("records IS NULL").alias("missing")))
        except Exception as exc:  # noqa: BLE001  # Spark raises its own error types
            result.gaps.append(CoverageGap("unreadable-log", f"{uri}: cannot read: {_reason(exc)}",
                                           Location(file=uri)))
            continue
        result.files += documents.inputFiles()
        engine._add_raw("cloudtrail", rows.where("NOT missing").select(
            "file", F.lit("").alias("flavour"),
            F.expr("CASE WHEN value RLIKE '^\\\\s*\\\\{' THEN value END").alias("record")))
        for (path,) in rows.where("broken").select("file").distinct().collect():
            result.gaps.append(CoverageGap("unreadable-log", f"{path}: cannot read: invalid JSON (no Records array "
                                                             "could be read)", Location(file=str(path))))
    result.files = sorted(set(result.files))
    return result


def detect_remote(paths: Sequence[Path], uris: Sequence[str], settings: DetectSettings,
                  engine: SparkEngine | None = None) -> Report:
    """The runner's hook for URIs (:func:`is_remote`): their CloudTrail records are loaded first, then the local
    ``paths`` and the detections run as usual (``runner.detect``) on the same Spark engine."""
    from .runner import detect

    own = engine is None
    engine = engine or SparkEngine(master=settings.spark_master)
    try:
        remote = load_remote_cloudtrail(engine, uris)
        report = detect(paths, settings, engine=engine)
        for path, records, bad in engine.malformed("cloudtrail"):
            if bad and path in remote.files:
                remote.gaps.append(CoverageGap("malformed-records", f"{path}: {bad} of {records} cloudtrail "
                                                                    "records are malformed and were left out",
                                               Location(file=path)))
    finally:
        if own:
            engine.close()
    report.scanned_files = sorted([*report.scanned_files, *remote.files])
    report.coverage_gaps = sorted([*report.coverage_gaps, *remote.gaps],
                                  key=lambda gap: (gap.location.file, gap.message))
    return report
