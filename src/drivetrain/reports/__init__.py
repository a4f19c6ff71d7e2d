"""Reports: HTML and PDF documents with charts, built from the same data the console shows."""
