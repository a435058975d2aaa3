"""The customer guides as PDFs (the blue «?» of the manual), built from docs/guides/*.md."""
