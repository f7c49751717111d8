"""Options that several commands share, declared once (typer reads them from the signature)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import gen_help, quality_default, quality_help, run_default, run_help

ENGINE_HELP = "local (this process) or ray (a Ray cluster; needs the ray extra)."
ADDRESS_HELP = "Ray cluster address with --engine ray (default: RAY_ADDRESS, else a local Ray)."
SKIP_HELP = (
    "--overwrite (default) writes every output again from the cache, leaving unchanged files "
    "untouched; --skip-existing leaves an output alone when its provenance shows the same model, "
    "settings and input."
)

DEFAULT_DEVICE: str = run_default("device")
DEFAULT_BACKEND: str = run_default("backend")
DEFAULT_PRECISION: str = run_default("precision")
DEFAULT_OFFLINE: bool = run_default("offline")
DEFAULT_FAIL_ON: str = quality_default("fail_on")

PathsArgument = Annotated[
    list[str],
    typer.Argument(help="Files, folders (recursive) or http(s) URLs of web pages; - reads stdin."),
]
FORMAT_HELP = (
    "Read every input in the format NAME, whatever its suffix: txt, md, srt, vtt, or article "
    "(the article in a web page, extracted; a URL's default). An unknown name lists them all."
)
# Checked by the format registry when the command starts (one line naming the formats).
FormatOption = Annotated[
    str | None, typer.Option("--format", help=FORMAT_HELP, metavar="NAME", show_default=False)
]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
# Values are checked by the settings classes (one line, as everywhere), not by typer.
BeamsOption = Annotated[int | None, typer.Option("--beams", help=gen_help("beams"))]
ContextOption = Annotated[
    int | None, typer.Option("--context", help=gen_help("context_sentences"), show_default=False)
]
DeviceOption = Annotated[str, typer.Option(help=run_help("device"))]
BackendOption = Annotated[str, typer.Option(help=run_help("backend"))]
PrecisionOption = Annotated[str, typer.Option(help=run_help("precision"))]
CacheOption = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        help="The cache database (default: $WORKBENCH_CACHE, else the per-user cache folder).",
        show_default=False,
    ),
]
NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Neither read nor write the cache.")
]
RefreshOption = Annotated[
    bool, typer.Option("--refresh", help="Recompute and overwrite cached outputs.")
]
OfflineOption = Annotated[bool, typer.Option("--offline", help=run_help("offline"))]
SkipOption = Annotated[bool, typer.Option("--skip-existing/--overwrite", help=SKIP_HELP)]
OverwriteEditsOption = Annotated[
    bool,
    typer.Option(
        "--overwrite-edits",
        help="Translate again, and write over, outputs holding post-edits imported with "
        "import-xliff (by default they are kept as edited).",
    ),
]
ManifestOption = Annotated[
    Path | None, typer.Option(help="Manifest file (default: OUT/manifest.jsonl).")
]
EngineOption = Annotated[str, typer.Option(help=ENGINE_HELP)]
AddressOption = Annotated[str | None, typer.Option(help=ADDRESS_HELP)]
RowsJsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON row per output.")]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print errors only (no progress bars).")
]
# Checked by QualitySettings (one line, as in job files).
FailOnOption = Annotated[str, typer.Option("--fail-on", help=quality_help("fail_on"))]
LockedOption = Annotated[
    bool,
    typer.Option(
        "--locked",
        help="Before any work, check that every model the run needs is in the lock file at the "
        "revision found here (see `workbench models lock`); refuse the run otherwise.",
    ),
]
LockFileOption = Annotated[
    Path | None,
    typer.Option(
        "--lock-file",
        help="The lock file (default: workbench.lock in the first folder, or beside the first "
        "file; for a job file, JOB.toml.lock).",
        show_default=False,
    ),
]
