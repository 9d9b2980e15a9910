"""``armory-siammtl reproduce``: one command per table of the paper (model family, grid, report)."""
