"""The batch catalog: a SQLite file (WAL mode) in the batch folder, one row per output file.

Tables: `meta` (what the batch renders: script hash, base `--set` values), `items` (one per
combination of seed and sweep values, `pending` or `done`) and `outputs` (path, item, seed,
params, pixel sha256, record, status). An item's output rows and its `done` mark are committed
in one transaction after its files are on disk, so a kill leaves either a finished item or one
that a resumed batch renders again (overwriting the same names): never a row without its file.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATALOG_NAME = "catalog.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    item TEXT PRIMARY KEY, seed INTEGER, params TEXT NOT NULL, status TEXT NOT NULL,
    outputs INTEGER
);
CREATE TABLE IF NOT EXISTS outputs (
    path TEXT PRIMARY KEY, item TEXT NOT NULL, seed INTEGER, params TEXT NOT NULL,
    pixel_sha256 TEXT NOT NULL, record TEXT NOT NULL, status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outputs_item ON outputs (item);
"""


class CatalogError(Exception):
    """The catalog can't be opened or does not belong to this batch."""


@dataclass(frozen=True)
class Row:
    """One output file of a batch, as the catalog lists it."""

    path: str  # relative to the batch folder, POSIX separators
    item: str
    seed: int | None
    params: dict[str, str]
    pixel_sha256: str
    record: str  # the canonical JSON embedded in the file
    status: str = "done"


class Catalog:
    """A batch folder's catalog; `Catalog.open(folder)` creates it when asked to."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, folder: Path, create: bool = False) -> Catalog:
        path = Path(folder) / CATALOG_NAME
        if not create and not path.is_file():
            raise CatalogError(f"{folder}: no batch catalog ({CATALOG_NAME})")
        try:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            # WAL: readers (verify, a progress poll) never block the writer; FULL: a committed
            # item survives a power cut, not only a kill.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            columns = {r[1] for r in conn.execute("PRAGMA table_info(items)")}
            if "outputs" not in columns:  # a catalog from before items counted their files
                conn.execute("ALTER TABLE items ADD COLUMN outputs INTEGER")
        except sqlite3.DatabaseError as e:
            raise CatalogError(f"{path}: not a readable catalog ({e})") from None
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- what the batch is ---------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {k: _json(v, f"meta '{k}'") for k, v in self.conn.execute("SELECT key, value FROM meta")}  # fmt: skip

    def set_meta(self, values: dict[str, Any]) -> None:
        with self._transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [(k, json.dumps(v, sort_keys=True)) for k, v in values.items()],
            )

    def clear(self) -> None:
        """Forget every item and row (only for a batch with nothing finished)."""
        with self._transaction():
            for table in ("meta", "items", "outputs"):
                self.conn.execute(f"DELETE FROM {table}")

    # ---- items ---------------------------------------------------------------------------------

    def add_items(self, items: list[tuple[str, int | None, dict[str, str]]]) -> None:
        """Plan items (name, seed, params) as pending; items already known keep their status."""
        with self._transaction():
            self.conn.executemany(
                "INSERT OR IGNORE INTO items VALUES (?, ?, ?, 'pending', NULL)",
                [(name, seed, json.dumps(p, sort_keys=True)) for name, seed, p in items],
            )

    def done_items(self) -> set[str]:
        rows = self.conn.execute("SELECT item FROM items WHERE status = 'done'")
        return {r[0] for r in rows}

    def item_count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    def finish_item(self, item: str, rows: list[Row]) -> None:
        """Record an item's output files and mark it done, all at once."""
        with self._transaction():
            self.conn.execute("DELETE FROM outputs WHERE item = ?", (item,))
            self.conn.executemany(
                "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.path, r.item, r.seed, json.dumps(r.params, sort_keys=True),
                     r.pixel_sha256, r.record, r.status)
                    for r in rows
                ],
            )  # fmt: skip
            self.conn.execute(
                "UPDATE items SET status = 'done', outputs = ? WHERE item = ?", (len(rows), item)
            )

    def reopen(self, items: list[str]) -> None:
        """Mark finished items pending again (their files were lost): a resume renders them."""
        with self._transaction():
            self.conn.executemany(
                "UPDATE items SET status = 'pending' WHERE item = ?", [(i,) for i in items]
            )

    def damaged_items(self, folder: Path) -> list[str]:
        """Finished items missing a file or a row: fewer rows than the item wrote, or a row
        whose file is gone (a catalog from before items counted their files: no rows)."""
        counts = dict(self.conn.execute("SELECT item, COUNT(*) FROM outputs GROUP BY item"))
        damaged = {
            item
            for item, n in self.conn.execute(
                "SELECT item, outputs FROM items WHERE status = 'done'"
            )
            if counts.get(item, 0) < (n if n is not None else 1)
        }
        damaged |= {r.item for r in self.rows() if not (Path(folder) / r.path).is_file()}
        return sorted(damaged)

    # ---- outputs -------------------------------------------------------------------------------

    def rows(self) -> list[Row]:
        """Every output row, ordered by path."""
        cur = self.conn.execute(
            "SELECT path, item, seed, params, pixel_sha256, record, status FROM outputs "
            "ORDER BY path"
        )
        return [Row(p, i, s, _json(pa, f"row {p}"), h, r, st) for p, i, s, pa, h, r, st in cur]

    def pending_items(self) -> list[str]:
        rows = self.conn.execute("SELECT item FROM items WHERE status != 'done' ORDER BY item")
        return [r[0] for r in rows]

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)


def _json(text: str, where: str) -> Any:
    """A JSON column's value; a catalog edited into bad JSON is a CatalogError naming the row."""
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError) as e:
        raise CatalogError(f"the catalog's {where} is not valid JSON ({e}); the catalog was edited or damaged") from None  # fmt: skip


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (autocommit connection)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
