"""The ``workbench`` command: a thin typer app over the library's functions."""

from __future__ import annotations

import typer

from workbench.cli import cache_cmd, exchange_cmd, models_cmd, prompts_cmd
from workbench.cli.compare_cmd import compare
from workbench.cli.eval_cmd import evaluate
from workbench.cli.run_cmd import run
from workbench.cli.summarise_cmd import summarise
from workbench.cli.translate_cmd import translate

app = typer.Typer(
    name="workbench",
    help="Translate and summarise articles with local Hugging Face models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rendering it through rich imports ~0.2 s of modules (rich.markdown,
    # markdown_it, rich.traceback) on every --help, most of the command's start-up time.
    rich_markup_mode=None,
)
app.command("translate")(translate)
app.add_typer(models_cmd.app, name="models")
app.add_typer(cache_cmd.app, name="cache")
app.command("summarise")(summarise)
app.add_typer(prompts_cmd.app, name="prompts")
app.command("run")(run)
app.command("compare")(compare)
app.command("eval")(evaluate)
app.command("export")(exchange_cmd.export)
app.command("import-xliff")(exchange_cmd.import_xliff)


def main() -> None:
    """Console-script entry point."""
    from workbench import cancel

    cancel.allow_prompt_exit()  # a stopped run may end the process without waiting (run_cmd)
    app()
