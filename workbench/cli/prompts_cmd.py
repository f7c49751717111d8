"""``workbench prompts``: the prompt templates chat models are driven by."""

from __future__ import annotations

from typing import Annotated

import typer

from workbench.cli.common import user_errors

app = typer.Typer(
    help="Prompt templates for chat models (summarising, translating).",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help, fast start-up (see app.py)
)


@app.command("list")
@user_errors
def list_prompts() -> None:
    """Every template: built-in ones and yours (yours win over built-in ones of the same name)."""
    from rich.console import Console
    from rich.table import Table

    from workbench import prompts

    table = Table(
        title=f"Prompt templates (yours: {prompts.user_folder()}; "
        f"built-in: {prompts.builtin_folder()})"
    )
    for col in ("name", "task", "from", "sha256", "description"):
        table.add_column(col)
    for p in prompts.list_prompts():
        table.add_row(p.name, p.task, p.origin, p.sha256[:12], p.description)
    Console().print(table)


@app.command("show")
@user_errors
def show(
    name: Annotated[str, typer.Argument(help="Template name (see `prompts list`) or a file.")],
) -> None:
    """Where a template is, its hash, and its text exactly as stored."""
    from workbench import prompts

    prompt = prompts.load(name)
    typer.echo(f"# {prompt.name} ({prompt.task}, {prompt.origin}): {prompt.path}", err=True)
    typer.echo(f"# sha256 {prompt.sha256}", err=True)
    typer.echo(prompt.path.read_text("utf-8"), nl=False)
