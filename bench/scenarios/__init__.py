"""One module per benchmark scenario; each exposes ``run(ctx) -> Section``."""
