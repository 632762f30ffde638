"""``apkscan known``: the known-sample library (add, remove, list, export, import).

The library is ``known.sqlite`` in ``$APKSCAN_DATA_DIR`` (else ``$XDG_DATA_HOME/apkscan``,
else ``~/.local/share/apkscan``); ``--db`` picks another file. ``apkscan scan`` and
``apkscan batch`` match every app against it when it exists. See docs/families.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from apkscan.errors import ApkscanError, UsageError

known_app = typer.Typer(
    help="The known-sample library: labelled fingerprints that scan and batch match apps against.",
    no_args_is_help=True,
)

DbOpt = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional here
    typer.Option("--db", help="Library file [default: $APKSCAN_DATA_DIR/known.sqlite].", show_default=False),
]


def _fail(exc: ApkscanError) -> typer.Exit:
    from apkscan.cli import _fail as cli_fail

    return cli_fail(exc)


@known_app.command("add")
def known_add(
    files: Annotated[list[Path], typer.Argument(help="APK files of confirmed samples.", show_default=False)],
    label: Annotated[str, typer.Option(
        "--label", help='"family / type", naming a finding category: "SilverLoan / fraud / loan".')],
    category: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--category", help="The finding category, when the label names none (fraud, gambling, malware ...).")] = None,
    db: DbOpt = None,
) -> None:
    """Read each APK (as a scan does, nothing is run or extracted) and add its fingerprint under LABEL."""
    from apkscan import api
    from apkscan.known import KnownLibrary
    from apkscan.rules.loader import load_rules
    from apkscan.runtime import known_db_path

    lib = KnownLibrary(db or known_db_path())
    ruleset = load_rules()
    failed = 0
    for path in files:
        try:
            result = api.scan(path, ruleset)
            sample = lib.add(result.facts, label, category or "")
        except ApkscanError as exc:
            typer.echo(f"{path}: {exc}", err=True)
            failed += 1
            continue
        except ValueError as exc:
            raise _fail(UsageError(str(exc))) from None
        typer.echo(f"added {sample.sha256[:16]} {sample.package} as {sample.label!r} ({sample.category})")
    typer.echo(f"library: {lib.path} ({_count(len(lib.samples()))})")
    if failed:
        raise typer.Exit(4 if failed == len(files) else 7)


@known_app.command("remove")
def known_remove(
    what: Annotated[list[str], typer.Argument(help="SHA-256 (or 8+ leading hex digits), package or exact label.")],
    db: DbOpt = None,
) -> None:
    """Remove samples."""
    from apkscan.known import KnownLibrary
    from apkscan.runtime import known_db_path

    lib = KnownLibrary(db or known_db_path())
    n = sum(lib.remove(w) for w in what)
    typer.echo(f"removed {n} sample(s); {len(lib.samples())} left in {lib.path}")


@known_app.command("list")
def known_list(
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """List the samples: SHA-256, package, category, label, when added."""
    from apkscan.known import KnownLibrary
    from apkscan.runtime import known_db_path

    lib = KnownLibrary(db or known_db_path())
    samples = lib.samples()
    if as_json:
        rows = [{"sha256": s.sha256, "package": s.package, "category": s.category, "label": s.label,
                 "added": s.added, "signers": list(s.signers)} for s in samples]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    if samples:
        typer.echo(f"{'sha256':<16}  {'category':<9} {'signed by':<16}  label | package | added")
    for s in samples:
        signer = s.signers[0][:16] if s.signers else "-"
        typer.echo(f"{s.sha256[:16]}  {s.category:<9} {signer:<16}  {s.label} | {s.package} | {s.added}")
    typer.echo(f"{_count(len(samples))} in {lib.path}")


def _count(n: int) -> str:
    return f"{n} sample" if n == 1 else f"{n} samples"


@known_app.command("export")
def known_export(
    output: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--output", "-o", help="File to write [default: standard output].")] = None,
    db: DbOpt = None,
) -> None:
    """Write the library as JSON (fingerprints and labels only: never an APK)."""
    from apkscan.known import KnownLibrary
    from apkscan.runtime import known_db_path

    text = json.dumps(KnownLibrary(db or known_db_path()).export(), ensure_ascii=False, indent=1) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@known_app.command("import")
def known_import(
    source: Annotated[Path, typer.Argument(help="A file written by `apkscan known export`.")],
    db: DbOpt = None,
) -> None:
    """Add (or relabel) the samples of an export."""
    from apkscan.known import KnownLibrary
    from apkscan.runtime import known_db_path

    lib = KnownLibrary(db or known_db_path())
    try:
        doc = json.loads(source.read_text(encoding="utf-8"))
        n = lib.import_(doc)
    except OSError as exc:
        raise _fail(UsageError(f"{source}: cannot read ({exc.strerror})")) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise _fail(UsageError(f"{source}: {exc}")) from None
    typer.echo(f"imported {n} sample(s); {len(lib.samples())} in {lib.path}")


def register(app: typer.Typer) -> None:
    """Add ``known`` to the main command line."""
    app.add_typer(known_app, name="known")
