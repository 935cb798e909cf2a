"""Jobs as the API sees them: creating (and enqueueing) jobs, reading them, cancel and retry,
uploads into the file store, and signed download links."""
