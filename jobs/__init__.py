"""Everything that touches the outside world: settings, store, sources, pipeline, scheduler, CLI."""
