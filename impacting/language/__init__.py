"""Language: chunks embedded once, summaries and keywords."""
