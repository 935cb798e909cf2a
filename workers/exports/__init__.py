"""Product export: the file format shared with the import, and the export job."""
