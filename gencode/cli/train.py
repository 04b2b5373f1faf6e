"""`gencode train RECIPE`: train a model from a recipe file (thin over `gencode.train`)."""

from __future__ import annotations

import importlib
from pathlib import Path

import click


@click.command()
@click.argument("recipe")
@click.option("--resume", is_flag=True, help="Continue from the run directory's last checkpoint.")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Override the step count.")
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where state and logs go (default: the recipe's run_dir, or runs/NAME).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where the final checkpoint goes (default: the recipe's output).",
)
@click.option("--quiet", is_flag=True, help="No progress bar (the run's train.log still fills).")
@click.option(
    "--install",
    "do_install",
    is_flag=True,
    help="When training ends, copy the checkpoint into gencode's weights folder as the recipe's "
    "`install` name (training alone never writes there).",
)
@click.option(
    "--refit-from",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Do not train: take this finished GAN or VAE checkpoint and recompute its attribute "
    "edits with today's code and judge (as training ends), into the recipe's output.",
)
def train(
    recipe: str,
    resume: bool,
    steps: int | None,
    run_dir: str | None,
    output: str | None,
    quiet: bool,
    do_install: bool,
    refit_from: str | None,
) -> None:
    """Train a model from RECIPE (a .toml path or a built-in name such as `scenes`)."""
    from gencode.train import FAMILIES
    from gencode.train.recipe import RecipeError, install, load

    try:
        r = load(recipe).with_overrides(steps=steps, run_dir=run_dir, output=output)
    except RecipeError as e:
        raise click.ClickException(str(e)) from None
    if r.family not in FAMILIES:
        raise click.ClickException(
            f"{r.source}: key 'family': unknown family {r.family!r}; known: {', '.join(FAMILIES)}"
        )
    module = importlib.import_module(FAMILIES[r.family])
    if refit_from and not hasattr(module, "refit"):
        raise click.ClickException(f"--refit-from: a {r.family} recipe has no edits to refit")
    try:
        if refit_from:
            path: Path = module.refit(r, Path(refit_from))
        else:
            path = module.train(r, resume=resume, progress=not quiet)
    except (ValueError, FileExistsError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {path}")
    if do_install:
        try:
            click.echo(f"installed {install(r)}")
        except RecipeError as e:
            raise click.ClickException(str(e)) from None
