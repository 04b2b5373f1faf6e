"""Batches: one script × seeds × parameter sweeps → a folder of outputs with a SQLite catalog.

runner (plan the items, render the unfinished ones, write the grid and the manifest) → catalog
(one row per output file, committed per item, so a killed batch resumes where it stopped).
"""
