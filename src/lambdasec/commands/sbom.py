"""`lambdasec sbom`: a CycloneDX SBOM of every function and layer the templates describe (docs/sbom.md)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

EXIT_OK, EXIT_USAGE, EXIT_INCOMPLETE = 0, 2, 3


def source_date(environ: Mapping[str, str]) -> dt.datetime | None:
    """The BOM's timestamp: SOURCE_DATE_EPOCH when set (the reproducible-builds convention), else none at all, so
    that two runs over the same code write the same file."""
    value = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise click.UsageError(f"SOURCE_DATE_EPOCH must be a number of seconds, not {value!r}")
    return dt.datetime.fromtimestamp(int(value), tz=dt.timezone.utc)


def build_sbom(paths: Sequence[Path], *, config_file: Path | None = None, spec_version: str = "1.6",
               timestamp: dt.datetime | None = None, workers: int = 1,
               cache_dir: str | None = None) -> tuple[str, list[str]]:
    """(CycloneDX JSON, coverage gaps as one-line messages) for the scan paths, read as `lambdasec scan` reads
    them: the same templates, packages, archive limits and template parameters (config file)."""
    from .. import __version__
    from ..analysis.packages import limits_from_options
    from ..analysis.sbom import cyclonedx_json, sbom_contents
    from ..collectors.discovery import collect
    from ..collectors.options import CollectOptions
    from ..config import load_config

    config = load_config(config_file, Path.cwd())
    options = CollectOptions(parameter_values={str(k): v for k, v in config.parameters.items()}, workers=workers,
                             cache_dir=cache_dir)
    inventory, _ = collect(paths, options)
    # As engine.scan: a file is read relative to its directory, a directory relative to itself.
    roots = [path.parent if path.is_file() else path for path in paths]
    contents = sbom_contents(inventory, roots, limits_from_options(config.rule_options))
    gaps = list(dict.fromkeys([*inventory.coverage_gaps, *contents.gaps]))
    text = cyclonedx_json(contents, spec_version=spec_version, tool_version=__version__, timestamp=timestamp)
    return text, [f"{gap.location.display()}: {gap.message}" for gap in gaps]


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the SBOM to FILE (default: standard output).")
@click.option("--spec-version", type=click.Choice(["1.5", "1.6"]), default="1.6", show_default=True,
              help="CycloneDX specification version.")
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              help="Config file (default: .lambdasec.toml, else [tool.lambdasec] in pyproject.toml): template "
                   "parameters and archive limits.")
def sbom(paths: tuple[Path, ...], output: Path | None, spec_version: str, config_file: Path | None) -> None:
    """Write a CycloneDX JSON SBOM of every function and layer in PATHS (default: .): the Python distributions,
    Node.js packages and Lambda extensions each one's code contains.

    Exit 3 when some code could not be read completely (the SBOM is then incomplete; the gaps are printed on
    standard error), 2 on a usage or configuration error.
    """
    from ..collectors.cloudformation.sam_cache import default_cache_dir
    from ..config import ConfigError

    try:
        text, gaps = build_sbom(list(paths) or [Path(".")], config_file=config_file, spec_version=spec_version,
                                timestamp=source_date(os.environ), workers=min(os.cpu_count() or 1, 4),
                                cache_dir=str(default_cache_dir()))
    except (ConfigError, ValueError) as exc:
        click.echo(f"lambdasec: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.UsageError(f"cannot write {output}: {exc.strerror}") from None
    for gap in gaps:
        click.echo(f"lambdasec: coverage gap: {gap}", err=True)
    sys.exit(EXIT_INCOMPLETE if gaps else EXIT_OK)
