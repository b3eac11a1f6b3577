"""Demo material: a generated French sample book for trying Quire end to end."""
