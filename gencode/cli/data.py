"""`gencode data`: look at the procedural datasets (a labelled contact sheet of samples)."""

from __future__ import annotations

import click


def label_text(label: dict) -> str:
    """A short caption for a tile: the dataset's caption, else its attributes as key=value."""
    if "caption" in label:
        return str(label["caption"])
    parts = []
    for key, value in label.items():
        if isinstance(value, bool):  # a flag reads best as its name, when set
            parts += [key] if value else []
            continue
        if isinstance(value, float):
            value = f"{value:.1f}"
        parts.append(f"{key}={value}")
    return " ".join(parts)


def contact_sheet(images, labels: list[str] | None, columns: int, scale: int):
    """A PIL grid of uint8 images (N, H, W, 3), each tile with its label underneath when given."""
    from PIL import Image, ImageDraw

    n, h, w, _ = images.shape
    rows = -(-n // columns)
    tile_w, tile_h = w * scale, h * scale
    text_h = 36 if labels else 0
    sheet = Image.new("RGB", (columns * (tile_w + 2), rows * (tile_h + text_h + 2)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, im in enumerate(images):
        x, y = (i % columns) * (tile_w + 2), (i // columns) * (tile_h + text_h + 2)
        sheet.paste(Image.fromarray(im).resize((tile_w, tile_h), Image.NEAREST), (x, y))
        if labels:
            _draw_label(draw, labels[i], x, y + tile_h, tile_w)
    return sheet


def _draw_label(draw, text: str, x: int, y: int, width: int) -> None:
    """Up to three lines of text that fit under a tile (the default font is ~6 px a character)."""
    per_line = max(4, width // 6)
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > per_line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    for k, part in enumerate(lines[:3]):
        draw.text((x + 1, y + 1 + 11 * k), part[:per_line], fill="black")


@click.group()
def data() -> None:
    """Procedural datasets: preview and export."""


@data.command()
@click.argument("name")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default="grid.png",
    show_default=True,
    help="The PNG to write.",
)
@click.option("--n", "n", type=click.IntRange(1, 1024), default=64, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--size", type=click.IntRange(8, 256), default=None, help="Pixels (default: the dataset's own)."
)
@click.option("--columns", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--plain", is_flag=True, help="No labels under the tiles.")
def preview(
    name: str, output: str, n: int, seed: int, size: int | None, columns: int, plain: bool
) -> None:
    """Draw a contact sheet of N samples of dataset NAME (e.g. scenes, faces)."""
    from gencode.data import DATASETS, dataset

    if name not in DATASETS:
        raise click.ClickException(
            f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}"
        )
    module = dataset(name)
    size = size or int(getattr(module, "NATIVE_SIZE", 32))
    images, labels = module.generate(n, seed, size)
    texts = None if plain else [label_text(lb) for lb in labels]
    scale = max(1, 128 // size) if texts else max(1, 64 // size)
    contact_sheet(images, texts, columns, scale).save(output)
    click.echo(f"wrote {output} ({n} {name} samples, seed {seed}, {size}x{size})")
